"""Writes to households and residents. Each one checks the actor's right to edit and
records a HouseholdChange (per-field old → new) in the same transaction."""

from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from governance.kernel import hooks
from governance.kernel.errors import ApplicationError, Conflict
from governance.staff.selectors import Jurisdiction, ensure_can_edit_households
from grids.enums import HouseholdChangeAction, HouseholdStatus
from grids.hooks import RESIDENT_REMOVING
from grids.models import Building, Household, HouseholdChange, Resident

HOUSEHOLD_FIELDS = ("unit", "room", "contact_name", "phone", "care_tags")
RESIDENT_FIELDS = ("name", "gender", "birth_year", "phone", "relation", "is_party_member")


def _diff(obj, data: dict, fields) -> dict:
    changes = {}
    for name in fields:
        if name in data and getattr(obj, name) != data[name]:
            changes[name] = [getattr(obj, name), data[name]]
    return changes


def _ensure_active(household: Household) -> None:
    if household.status == HouseholdStatus.MOVED_OUT:
        raise Conflict(_("该住户已迁出，不能再修改。"))


@transaction.atomic
def household_create(*, actor, jurisdiction: Jurisdiction, building: Building, data: dict) -> Household:
    """Register a household: 1. check the right; 2. create; 3. record the change."""
    ensure_can_edit_households(jurisdiction, territory_code=building.code)
    household = Household(building=building, **{k: data.get(k, "") for k in HOUSEHOLD_FIELDS})
    household.full_clean()
    household.save()
    HouseholdChange.objects.create(
        household=household, action=HouseholdChangeAction.CREATE, actor=actor,
        changes={k: [None, getattr(household, k)] for k in HOUSEHOLD_FIELDS if getattr(household, k)},
    )
    return household


@transaction.atomic
def household_update(*, actor, jurisdiction: Jurisdiction, household: Household, data: dict) -> dict:
    """Edit a household: 1. check the right and that it still lives here; 2. lock the row;
    3. save only changed fields; 4. record old → new. Returns the changes."""
    ensure_can_edit_households(jurisdiction, territory_code=household.building.code)
    household = Household.objects.select_for_update().get(pk=household.pk)
    _ensure_active(household)
    changes = _diff(household, data, HOUSEHOLD_FIELDS)
    if not changes:
        return {}
    for name, (_old, new) in changes.items():
        setattr(household, name, new)
    household.full_clean()
    household.save(update_fields=[*changes, "updated_at"])
    HouseholdChange.objects.create(
        household=household, action=HouseholdChangeAction.UPDATE, actor=actor, changes=changes
    )
    return changes


@transaction.atomic
def household_move_out(
    *, actor, jurisdiction: Jurisdiction, household: Household, moved_out_on: date, note: str = ""
) -> Household:
    """A household moves out: the record stays (with its history), marked moved out."""
    ensure_can_edit_households(jurisdiction, territory_code=household.building.code)
    updated = Household.objects.filter(pk=household.pk, status=HouseholdStatus.ACTIVE).update(
        status=HouseholdStatus.MOVED_OUT, moved_out_at=moved_out_on
    )
    if updated != 1:
        raise Conflict(_("该住户已迁出。"))
    HouseholdChange.objects.create(
        household=household, action=HouseholdChangeAction.MOVE_OUT, actor=actor, note=note[:200],
        changes={"status": [HouseholdStatus.ACTIVE, HouseholdStatus.MOVED_OUT],
                 "moved_out_at": [None, moved_out_on.isoformat()]},
    )
    household.refresh_from_db()
    return household


@transaction.atomic
def resident_create(*, actor, jurisdiction: Jurisdiction, household: Household, data: dict) -> Resident:
    ensure_can_edit_households(jurisdiction, territory_code=household.building.code)
    _ensure_active(household)
    if household.residents.filter(name=data.get("name", "")).exists():
        raise ApplicationError(_("该户已有名为“%(n)s”的居民。") % {"n": data.get("name")})
    resident = Resident(household=household, **{k: v for k, v in data.items() if k in RESIDENT_FIELDS})
    resident.full_clean()
    resident.save()
    HouseholdChange.objects.create(
        household=household, resident_name=resident.name, action=HouseholdChangeAction.ADD_RESIDENT,
        actor=actor, changes={k: [None, getattr(resident, k)] for k in RESIDENT_FIELDS if getattr(resident, k) not in ("", None, False)},
    )
    return resident


@transaction.atomic
def resident_update(*, actor, jurisdiction: Jurisdiction, resident: Resident, data: dict) -> dict:
    household = resident.household
    ensure_can_edit_households(jurisdiction, territory_code=household.building.code)
    _ensure_active(household)
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    changes = _diff(resident, data, RESIDENT_FIELDS)
    if not changes:
        return {}
    if "name" in changes and household.residents.exclude(pk=resident.pk).filter(name=data["name"]).exists():
        raise ApplicationError(_("该户已有名为“%(n)s”的居民。") % {"n": data["name"]})
    for name, (_old, new) in changes.items():
        setattr(resident, name, new)
    resident.full_clean()
    resident.save(update_fields=list(changes))
    HouseholdChange.objects.create(
        household=household, resident_name=resident.name, action=HouseholdChangeAction.UPDATE_RESIDENT,
        actor=actor, changes=changes,
    )
    return changes


@transaction.atomic
def resident_remove(*, actor, jurisdiction: Jurisdiction, resident: Resident, note: str = "") -> None:
    household = resident.household
    ensure_can_edit_households(jurisdiction, territory_code=household.building.code)
    _ensure_active(household)
    snapshot = {k: [getattr(resident, k), None] for k in RESIDENT_FIELDS if getattr(resident, k) not in ("", None, False)}
    name = resident.name
    hooks.fire(RESIDENT_REMOVING, resident=resident)  # an app above may refuse (ApplicationError)
    resident.delete()
    HouseholdChange.objects.create(
        household=household, resident_name=name, action=HouseholdChangeAction.REMOVE_RESIDENT,
        actor=actor, note=note[:200], changes=snapshot,
    )
