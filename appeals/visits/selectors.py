"""Reads of 入户走访: who sees which household's visits (``Jurisdiction.sees_care``, one
rule: the grid's workers and the community's staff), the 走访 list, and the month's
figures (which everyone who reads reports sees: counts, no names)."""

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.models import AppealAttachment
from appeals.visits import plans
from appeals.visits.models import Visit
from governance.kernel import choices
from governance.kernel.errors import ActionForbidden, NotFound
from governance.staff.selectors import Jurisdiction
from grids.enums import HouseholdStatus
from grids.models import Household

# How far back the standing looks: the two periods before the current one of the longest kind.
LOOKBACK_DAYS = 100
SECTIONS = (plans.Status.LONG_OVERDUE, plans.Status.OVERDUE, plans.Status.DUE_TODAY, plans.Status.DUE,
            plans.Status.DONE)


def _care_households(jurisdiction: Jurisdiction | None, *, within: str = ""):
    qs = Household.objects.filter(status=HouseholdStatus.ACTIVE).exclude(care_tags="")
    if jurisdiction is not None:
        qs = qs.filter(jurisdiction.care_code_q("building__code"))
    if within:
        qs = qs.filter(building__code__startswith=within)
    return qs.select_related("building", "building__grid").order_by("building__code", "unit", "room", "pk")


def household_standing(*, today: date, jurisdiction: Jurisdiction | None = None, within: str = ""):
    """[(household, plan, Due)] for the active households with a plan, inside the
    account's care (``jurisdiction``; None: everywhere, for the reminders). Three queries."""
    rule_map = plans.rules()
    households = [h for h in _care_households(jurisdiction, within=within)]
    done: dict[int, list[date]] = defaultdict(list)
    since = timezone.make_aware(datetime.combine(today - timedelta(days=LOOKBACK_DAYS), time.min))
    for household_id, at in Visit.objects.filter(
        household__in=[h.pk for h in households], counts_done=True, visited_at__gte=since,
    ).values_list("household_id", "visited_at"):
        done[household_id].append(timezone.localdate(at))
    found = []
    for household in households:
        plan = plans.plan_for(household.care_tag_list, rule_map)
        if plan is None:
            continue
        due = plans.due_status(plan, today=today, registered=timezone.localdate(household.created_at),
                               done_days=done[household.pk])
        found.append((household, plan, due))
    return found


def ensure_care_reader(jurisdiction: Jurisdiction) -> None:
    """The 走访 list and the visits' list are for those who see some household's care (the
    grid's workers, the community's staff): 403 with the reason for everyone else."""
    if not jurisdiction.sees_any_care:
        raise ActionForbidden(_("走访清单仅供网格员和社区工作人员使用；其他账号可在报表中查看走访统计。"))


def visit_list(*, jurisdiction: Jurisdiction, today: date | None = None) -> dict[str, list]:
    """The 走访 list: {status: [(household, plan, Due)]}, overdue first."""
    ensure_care_reader(jurisdiction)
    today = today or timezone.localdate()
    sections = {key: [] for key in SECTIONS}
    for entry in household_standing(today=today, jurisdiction=jurisdiction):
        sections[entry[2].status].append(entry)
    return sections


def _ensure_care(jurisdiction: Jurisdiction, code: str) -> None:
    """404 outside the jurisdiction (as if it did not exist); 403 with the reason inside
    it for those who see figures only (street officers, supervisors, administrators)."""
    if not jurisdiction.covers(code):
        raise Http404
    if not jurisdiction.sees_care(code):
        raise ActionForbidden(_("关怀标签和走访记录属于敏感个人信息，仅本网格网格员和本社区工作人员可以查看。"))


def care_household_get(*, jurisdiction: Jurisdiction, pk: int) -> Household:
    """A household whose care the account sees (``_ensure_care``)."""
    household = get_object_or_404(Household.objects.select_related("building__grid__community__street"), pk=pk)
    _ensure_care(jurisdiction, household.building.grid_id)
    return household


def household_visits(*, household: Household):
    return list(household.visits.prefetch_related("appeals").order_by("-visited_at", "-id")[:50])


def visits_in_care(*, jurisdiction: Jurisdiction) -> QuerySet:
    """The visits the account sees (``Jurisdiction.care_code_q``), newest first."""
    ensure_care_reader(jurisdiction)
    return (Visit.objects.filter(jurisdiction.care_code_q("territory_code"))
            .select_related("household__building").prefetch_related("appeals").order_by("-visited_at", "-id"))


def visit_get(*, jurisdiction: Jurisdiction, pk: int) -> Visit:
    visit = get_object_or_404(
        Visit.objects.select_related("household__building__grid__community"), pk=pk)
    _ensure_care(jurisdiction, visit.territory_code)
    return visit


def visit_photo_open(visit: Visit, index: int):
    """The visit's photo number ``index`` (from 0), open for reading; NotFound past the last."""
    if not 0 <= index < len(visit.photos):
        raise NotFound(_("没有这张照片。"))
    storage = AppealAttachment._meta.get_field("image").storage  # where the intake's cleaning stored it
    return storage.open(visit.photos[index], "rb")


# --- figures (no names: the reports) -----------------------------------------------------------


def visit_month_figures(*, first: date, last: date, today: date | None = None, within: str = "") -> dict[str, dict]:
    """Per grid code under ``within``: {"due": visits due, "on_time": done in their period,
    "found": appeals raised from visits in [first, last]}.

    A visit is due for each of a household's periods ending in [first, last] and by
    ``today`` (a period still running is not due yet) that the household owes (it was
    registered by the period's end); it is on time when a visit that counts fell in the
    period. The household's current tags and rules say its plan. Four queries."""
    today = today or timezone.localdate()
    last = min(last, today - timedelta(days=1)) if last >= today else last
    rule_map = plans.rules()
    households = list(_care_households(None, within=within).values("pk", "care_tags", "created_at", "building__grid_id"))
    start = timezone.make_aware(datetime.combine(first - timedelta(days=40), time.min))
    end = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min))
    # Per row only what differs: the zone, each tag set's plan and each period kind's periods
    # are looked up once (a city's households took seconds otherwise).
    zone = timezone.get_current_timezone()
    done: dict[int, list[date]] = defaultdict(list)
    for household_id, at in Visit.objects.filter(counts_done=True, visited_at__gte=start, visited_at__lt=end,
                                                 territory_code__startswith=within).values_list(
                                                     "household_id", "visited_at"):
        done[household_id].append(at.astimezone(zone).date())
    figures: dict[str, dict] = defaultdict(lambda: {"due": 0, "on_time": 0, "found": 0})
    plan_of: dict[str, plans.Plan | None] = {}
    periods_of: dict[str, list] = {}
    for h in households:
        tags = h["care_tags"]
        if tags not in plan_of:
            plan_of[tags] = plans.plan_for(choices.keys(tags), rule_map)
        plan = plan_of[tags]
        if plan is None or last < first:
            continue
        if plan.period not in periods_of:
            periods_of[plan.period] = plans.periods_ending_in(plan.period, first, last)
        registered = h["created_at"].astimezone(zone).date()
        for bounds in periods_of[plan.period]:
            if registered > bounds[1]:
                continue
            row = figures[h["building__grid_id"]]
            row["due"] += 1
            if any(bounds[0] <= d <= bounds[1] for d in done[h["pk"]]):
                row["on_time"] += 1
    raised = Visit.appeals.through.objects.filter(
        visit__territory_code__startswith=within,
        appeal__created_at__date__gte=first, appeal__created_at__date__lte=last,
    ).values_list("visit__territory_code", "appeal_id").distinct()
    seen = set()
    for code, appeal_id in raised:
        if appeal_id not in seen:
            seen.add(appeal_id)
            figures[code]["found"] += 1
    return dict(figures)
