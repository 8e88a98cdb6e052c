"""Territory pages: district → street → community → grid → building → household.

Thin: each view asks the selectors (scoped to the account) and the services."""

from dataclasses import dataclass
from typing import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from governance.enums import AccessAction
from governance.kernel.access import access_log_record
from governance.kernel.errors import ApplicationError
from governance.staff.selectors import ensure_can_edit_households, jurisdiction_for
from grids import selectors, services
from grids.forms import HouseholdForm, MoveOutForm, ResidentForm, TerritoryQuery
from grids.models import Building, Community, District, Grid, Resident, Street


@dataclass(frozen=True)
class Level:
    name: str
    model: type
    url_name: str
    child_label: str
    child_url: str
    children: Callable


LEVELS = {
    "district": Level("district", District, "district-detail", "街道", "street-detail",
                      lambda jur, unit: selectors.street_list(jur, district=unit)),
    "street": Level("street", Street, "street-detail", "社区", "community-detail",
                    lambda jur, unit: selectors.community_list(jur, street=unit)),
    "community": Level("community", Community, "community-detail", "网格", "grid-detail",
                       lambda jur, unit: selectors.grid_list(jur, community=unit)),
    "grid": Level("grid", Grid, "grid-detail", "楼栋", "building-detail",
                  lambda jur, unit: selectors.building_list(jur, grid=unit)),
}


def _ancestors(unit) -> list:
    chain = []
    for attr in ("grid", "community", "street", "district"):
        parent = getattr(unit, attr, None)
        if parent is not None:
            chain.append(parent)
            unit = parent
    return list(reversed(chain))


def _breadcrumbs(jurisdiction, unit) -> list[tuple[str, str | None]]:
    names = {District: "district-detail", Street: "street-detail", Community: "community-detail",
             Grid: "grid-detail", Building: "building-detail"}
    crumbs = []
    for ancestor in _ancestors(unit):
        url = reverse(names[type(ancestor)], args=[ancestor.code]) if jurisdiction.covers(ancestor.code) else None
        crumbs.append((str(ancestor), url))
    return crumbs


def _page(params: dict, qs):
    return Paginator(qs, settings.PAGE_SIZE).get_page(params["page"])


@login_required
def territory_root(request):
    """Where browsing starts: the districts for city-wide accounts, else the account's units."""
    jur = jurisdiction_for(request.user)
    if not jur.everything:
        units = [p for p in jur.posts if p.role != "department_handler"]
        if len(units) == 1:
            post = units[0]
            for level in ("grid", "community", "street", "district"):
                unit = getattr(post, level)
                if unit is not None:
                    return redirect(LEVELS[level].url_name, unit.code)
    return render(request, "grids/root.html", {
        "districts": selectors.district_list(jur) if jur.everything else [],
        "posts": jur.posts,
    })


@login_required
def unit_detail(request, level: str, code: str):
    config = LEVELS[level]
    jur = jurisdiction_for(request.user)
    unit = selectors.unit_get(config.model, jur, code)
    params = TerritoryQuery.parse(request.GET)
    query = params["q"]
    context = {
        "unit": unit,
        "level": config,
        "breadcrumbs": _breadcrumbs(jur, unit),
        "query": query,
        "household_count": selectors.household_count(jur, within=unit.code),
        "resident_count": selectors.resident_count(jur, within=unit.code),
        "can_import": level in ("community", "grid") and _can_edit(jur, unit.code),
    }
    if query:
        context["households"] = _with_care(jur, _page(params, selectors.household_list(jur, within=unit.code, query=query)))
    else:
        context["children"] = _page(params, config.children(jur, unit))
    return render(request, "grids/unit_detail.html", context)


def _with_care(jur, page):
    """Mark each household of the page whose 关怀标签 the account sees (Jurisdiction.sees_care)."""
    for household in page:
        household.care_visible = jur.sees_care(household.building.grid_id)
    return page


def _can_edit(jur, code: str) -> bool:
    try:
        ensure_can_edit_households(jur, territory_code=code)
    except ApplicationError:
        return False
    return True


@login_required
def building_detail(request, code: str):
    jur = jurisdiction_for(request.user)
    building = selectors.unit_get(Building, jur, code)
    params = TerritoryQuery.parse(request.GET)
    query, show_moved_out = params["q"], params["moved_out"]
    households = selectors.household_list(jur, within=building.code, query=query, include_moved_out=show_moved_out)
    return render(request, "grids/building_detail.html", {
        "unit": building,
        "breadcrumbs": _breadcrumbs(jur, building),
        "households": _with_care(jur, _page(params, households)),
        "query": query,
        "show_moved_out": show_moved_out,
        "can_edit": _can_edit(jur, building.code),
    })


@login_required
def household_detail(request, pk: int):
    jur = jurisdiction_for(request.user)
    household = selectors.household_get(jur, pk)
    residents = list(household.residents.all())
    access_log_record(user=request.user, action=AccessAction.VIEW, subject=f"household:{household.pk}",
                      record_count=1 + len(residents), request=request)
    return render(request, "grids/household_detail.html", {
        "household": household,
        "unit": household.building,
        "breadcrumbs": _breadcrumbs(jur, household.building) + [(str(household.building), reverse("building-detail", args=[household.building.code]))],
        "residents": residents,
        "changes": household.changes.select_related("actor")[:100],
        "can_edit": _can_edit(jur, household.building.code) and household.status == "active",
        # 关怀标签 and visits: the grid's workers and the community's staff only (PIPL).
        "sees_care": jur.sees_care(household.building.grid_id),
    })


def _form_errors_from(exc: ValidationError, form) -> None:
    for message in exc.messages:
        form.add_error(None, message)


def _household_to_edit(request, pk: int):
    """The viewer's jurisdiction and a household in it they may edit (404 outside, 403 read-only)."""
    jur = jurisdiction_for(request.user)
    household = selectors.household_get(jur, pk)
    ensure_can_edit_households(jur, territory_code=household.building.code)
    return jur, household


def _household_form(request, form, *, save, title, back: str):
    """The household form: on a valid POST `save(cleaned_data)` returns the household and
    the message (a service's ValidationError goes back to the form's fields)."""
    if request.method == "POST" and form.is_valid():
        try:
            household, message = save(form.cleaned_data)
        except ValidationError as exc:
            _form_errors_from(exc, form)
        else:
            messages.success(request, message)
            return redirect("household-detail", household.pk)
    return render(request, "grids/form.html", {"form": form, "title": title, "back": back})


@login_required
@require_http_methods(["GET", "POST"])
def household_create(request, code: str):
    jur = jurisdiction_for(request.user)
    building = selectors.unit_get(Building, jur, code)
    ensure_can_edit_households(jur, territory_code=building.code)

    def save(data):
        household = services.household_create(actor=request.user, jurisdiction=jur, building=building, data=data)
        return household, _("已登记住户 %(h)s。") % {"h": household.label}

    title, back = _("新增住户 · %(b)s") % {"b": building.address}, reverse("building-detail", args=[building.code])
    return _household_form(request, HouseholdForm(request.POST or None), save=save, title=title, back=back)


@login_required
@require_http_methods(["GET", "POST"])
def household_edit(request, pk: int):
    jur, household = _household_to_edit(request, pk)
    initial = {"unit": household.unit, "room": household.room, "contact_name": household.contact_name,
               "phone": household.phone, "care_tags": household.care_tag_list}

    def save(data):
        changes = services.household_update(actor=request.user, jurisdiction=jur, household=household, data=data)
        return household, _("已保存 %(n)s 项修改。") % {"n": len(changes)} if changes else _("没有修改。")

    title, back = _("修改住户 · %(h)s") % {"h": household.label}, reverse("household-detail", args=[household.pk])
    return _household_form(request, HouseholdForm(request.POST or None, initial=initial), save=save, title=title, back=back)


@login_required
@require_http_methods(["GET", "POST"])
def household_move_out(request, pk: int):
    jur, household = _household_to_edit(request, pk)
    form = MoveOutForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.household_move_out(actor=request.user, jurisdiction=jur, household=household,
                                    moved_out_on=form.cleaned_data["moved_out_on"], note=form.cleaned_data["note"])
        messages.success(request, _("已登记迁出，记录和变更历史仍保留。"))
        return redirect("household-detail", household.pk)
    return render(request, "grids/form.html", {
        "form": form, "title": _("登记迁出 · %(h)s") % {"h": household.label}, "danger": True,
        "warning": _("迁出后该户不再出现在在住名单中，也不能再修改；变更历史会保留。"),
        "back": reverse("household-detail", args=[household.pk]),
    })


@login_required
@require_http_methods(["GET", "POST"])
def resident_edit(request, pk: int, resident_pk: int | None = None):
    jur, household = _household_to_edit(request, pk)
    resident = get_object_or_404(Resident, pk=resident_pk, household=household) if resident_pk else None
    initial = {f: getattr(resident, f) for f in services.RESIDENT_FIELDS} if resident else None
    form = ResidentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data, "gender": form.cleaned_data["gender"] or ""}
        try:
            if resident:
                services.resident_update(actor=request.user, jurisdiction=jur, resident=resident, data=data)
            else:
                services.resident_create(actor=request.user, jurisdiction=jur, household=household, data=data)
        except ValidationError as exc:
            _form_errors_from(exc, form)
        else:
            messages.success(request, _("居民信息已保存。"))
            return redirect("household-detail", household.pk)
    title = _("修改居民 · %(n)s") % {"n": resident.name} if resident else _("新增居民 · %(h)s") % {"h": household.label}
    return render(request, "grids/form.html", {"form": form, "title": title, "back": reverse("household-detail", args=[household.pk])})


@login_required
@require_http_methods(["GET", "POST"])
def resident_remove(request, pk: int, resident_pk: int):
    jur, household = _household_to_edit(request, pk)
    resident = get_object_or_404(Resident, pk=resident_pk, household=household)
    if request.method == "POST":
        services.resident_remove(actor=request.user, jurisdiction=jur, resident=resident, note=request.POST.get("note", ""))
        messages.success(request, _("已移除居民 %(n)s，变更历史已记录。") % {"n": resident.name})
        return redirect("household-detail", household.pk)
    return render(request, "grids/confirm.html", {
        "title": _("移除居民"), "question": _("确定从该户移除居民“%(n)s”吗？此操作会记入变更历史。") % {"n": resident.name},
        "back": reverse("household-detail", args=[household.pk]),
    })
