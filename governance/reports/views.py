"""Report pages (报表): thin — parse the query, ask the report selectors (units, unit_page, supervision, hotspots, staffing), render
or export the same ReportTable. Every table page takes ``?export=csv|xlsx``."""

from dataclasses import asdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from appeals import workflow
from appeals.enums import AppealAction
from appeals.selectors import appeal_get, category_list
from appeals.services import appeal_supervise
from governance.assessment import periods
from governance.assessment.enums import MEASURES, UnitKind
from governance.enums import AccessAction
from governance.kernel.access import access_log_record
from governance.kernel.errors import ApplicationError, NotFound
from governance.reports import hotspots as hotspot_selectors
from governance.reports import maps as report_maps
from governance.reports import presenters, scope, tables, unit_page, units
from governance.reports import staffing as staffing_selectors
from governance.reports import suggestions as suggestion_selectors
from governance.reports import supervision as supervision_selectors
from governance.reports import visits as visit_report_selectors
from governance.reports.exports import export_response, rows_export_response
from governance.reports.forms import ReportQuery, supervision_filters
from governance.staff.selectors import jurisdiction_for
from grids.boundaries import LEVELS
from grids.map_forms import MapQueryForm, first_error
from grids.map_views import bad_request, geojson_response, map_data_view
from grids.maps import map_config


def _query_without(params: QueryDict, *names: str) -> str:
    q = params.copy()
    for name in names:
        q.pop(name, None)
    return q.urlencode()


def _viewer(request):
    return scope.report_viewer(request.user)


def _asked(request):
    """The viewer's jurisdiction and report levels, and the query read through its bounds."""
    return *_viewer(request), ReportQuery.parse(request.GET)


def _common(request, period) -> dict:
    return {
        "period": period, "period_label": periods.period_label(period),
        "period_query": periods.period_query(period),
        "period_choices": periods.period_choices(),
        "custom": period.kind == "range",
    }


def _table_context(request, table, *, sort: str) -> dict:
    key, descending = units.parse_sort(sort)
    return {
        "table": table, "sort_key": key, "sort_desc": descending,
        "sort_qs": _query_without(request.GET, "sort", "page", "export"),
    }


@login_required
@require_GET
def index(request):
    """The units of one level across the viewer's jurisdiction, worst first by default."""
    jurisdiction, levels, params = _asked(request)
    period = params["period"]
    level = scope.asked_level(params["level"], levels)
    sort = params["sort"] or "composite"
    export = params["export"]
    page = None if export else params["page"]
    table = units.unit_table(jurisdiction=jurisdiction, period=period, level=level, sort=sort, page=page)
    own_units = scope.post_units(jurisdiction)
    top_kind, top_code, top_name = own_units[0]
    if export:
        return export_response([table], kind=export, stem=f"units-{level}-{period.label}",
                               heading=f"{top_name} · {periods.period_label(period)} · {table.title}")
    context = {
        **_common(request, period), **_table_context(request, table, sort=sort),
        "levels": [(v, UnitKind(v).label) for v in levels], "level": level, "level_label": UnitKind(level).label,
        "units": own_units, "top_name": top_name, "top_url": units.unit_url(top_kind, top_code, period),
        "page": page, "pages": max((table.total - 1) // tables.PAGE_SIZE + 1, 1),
        "page_qs": _query_without(request.GET, "page", "export"),
        "charts": {
            "ranking": presenters.ranking_data(table),
            "heat": presenters.heat_data(table),
            "trend": unit_page.unit_trend(kind=top_kind, code=top_code, last_month=period.last.replace(day=1)),
        },
        "trend_name": top_name, "hidden": [("level", level)],
    }
    return render(request, "reports/index.html", context)


UNIT_TABLES = ("children", "departments", "categories", "problems", "deliberation")


@login_required
@require_GET
def unit(request, kind: str, code: str):
    """One unit: why its score is what it is, and its units one level down."""
    jurisdiction, _levels, params = _asked(request)
    period = params["period"]
    sort = params["sort"] or "composite"
    report = unit_page.unit_report(jurisdiction=jurisdiction, period=period, kind=kind, code=code, sort=sort)
    export = params["export"]
    if export:
        which = params["table"] or "children"
        table = getattr(report, which, None) if which in UNIT_TABLES else None
        if table is None:
            raise NotFound()
        return export_response([table], kind=export, stem=f"{kind}-{code}-{which}-{period.label}",
                               heading=f"{report.name} · {periods.period_label(period)} · {table.title}")
    charts = {"trend": report.trend,
              "categories": {"names": [r["category"] for r in report.categories.rows],
                             "values": [r["received"] for r in report.categories.rows]}}
    if report.children is not None:
        charts["ranking"] = presenters.ranking_data(report.children)
        charts["heat"] = presenters.heat_data(report.children)
    context = {
        **_common(request, period), **_table_context(request, report.children, sort=sort),
        "report": report, "kind_label": UnitKind(kind).label, "charts": charts,
        "child_label": UnitKind(tables.CHILD[kind]).label if kind in tables.CHILD else "",
    }
    return render(request, "reports/unit.html", context)


@login_required
@require_GET
def supervision(request):
    """督办清单: district-level and other overdue appeals, the most overdue first."""
    jurisdiction, _levels, params = _asked(request)
    filters = supervision_filters(params)
    export = params["export"]
    if export:
        source = supervision_selectors.supervision_export(jurisdiction=jurisdiction, filters=filters)
        return rows_export_response(source, fmt=export, user=request.user, scope=jurisdiction.scope_key,
                                    params={"filters": asdict(filters)})
    # A keyset page (governance.kernel.keyset): page 10,000 reads what page 1 does, the
    # count stops at 1万+. A ``page`` left from the numbered pages is ignored (the first page).
    found = supervision_selectors.supervision_page(jurisdiction=jurisdiction, filters=filters,
                                                   cursor=params["cursor"] or None)
    context = {
        "table": found.table, "page": found.page, "total": found.table.total, "filters": filters,
        # Each row's cells printed at once (presenters.table_html), and its links for the 督办 button.
        "rows": list(zip(presenters.table_html(found.table), found.table.links, strict=True)),
        "categories": category_list(), "units": scope.post_units(jurisdiction),
        "page_qs": _query_without(request.GET, "page", "cursor", "export"),
        "export_qs": _query_without(request.GET, "page", "cursor", "export"),
        "is_supervisor": jurisdiction.read_only,
    }
    return render(request, "reports/supervision.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def supervision_notes(request, code: str):
    """An appeal's 督办 notes; supervisors add one."""
    jurisdiction = jurisdiction_for(request.user)
    appeal = appeal_get(jurisdiction=jurisdiction, tracking_code=code)
    may_note = workflow.allowed(user=request.user, appeal=appeal, action=AppealAction.SUPERVISE,
                                jurisdiction=jurisdiction)
    if request.method == "POST":
        appeal_supervise(actor=request.user, appeal=appeal, note=request.POST.get("note", ""))
        messages.success(request, _("督办意见已记录，并已通知办理单位。"))
        return redirect("reports:supervision-notes", code=appeal.tracking_code)
    context = {
        "appeal": appeal, "notes": supervision_selectors.supervision_notes(appeal=appeal),
        "row": supervision_selectors.supervision_row(appeal, now=timezone.now()), "may_note": may_note,
    }
    return render(request, "reports/supervision_notes.html", context)


# How often the page asks whether the buildings and households are grouped (seconds).
HOTSPOT_POLL_SECONDS = 5


def _hotspots_asked(request):
    """The hot spots of the query within the viewer's jurisdiction (a unit outside it: 404),
    and the access log's subject."""
    jurisdiction, _levels, params = _asked(request)
    period, unit = params["period"], params["unit"]
    found = hotspot_selectors.hotspots(jurisdiction=jurisdiction, period=period, unit=unit)
    return jurisdiction, params, found, f"hotspots:{unit or 'all'}:{period.label}"


def _log_households(request, found, *, subject: str, action: str = AccessAction.VIEW) -> None:
    """Households (masked phones) shown or exported: personal data, logged each time."""
    if found.households is not None and found.households.rows:
        access_log_record(user=request.user, action=action, subject=subject,
                          record_count=len(found.households.rows), request=request)


def _repeats_context(request, found) -> dict:
    return {"found": found, "repeats_qs": _query_without(request.GET, "export"),
            "poll_seconds": HOTSPOT_POLL_SECONDS}


@login_required
@require_GET
def hotspots(request):
    """高频诉求: repeated categories, buildings and households (masked phones; logged). A
    large period's buildings and households are grouped by a task: the page shows the
    categories and polls ``hotspot_repeats`` until they are there; its export says so and
    returns to the page."""
    jurisdiction, params, found, subject = _hotspots_asked(request)
    period, unit, export = params["period"], params["unit"], params["export"]
    if export:
        if found.pending:
            messages.info(request, _("楼栋和住户的重复诉求统计正在生成（本期共约 %(n)s 件诉求），完成后即可导出。")
                          % {"n": f"{found.appeals:,}"})
            back = _query_without(request.GET, "export")
            return redirect(f"{request.path}?{back}" if back else request.path)
        _log_households(request, found, subject=subject, action=AccessAction.EXPORT)
        return export_response([found.categories, found.buildings, found.households], kind=export,
                               stem=f"hotspots-{period.label}")
    _log_households(request, found, subject=subject)
    context = {
        **_common(request, period), **_repeats_context(request, found), "unit": unit,
        "hidden": [("unit", unit)] if unit else [], "units": scope.post_units(jurisdiction),
        "export_qs": _query_without(request.GET, "export"),
        "charts": {"categories": {"names": [r["category"] for r in found.categories.rows],
                                  "values": [r["count"] for r in found.categories.rows]}},
    }
    return render(request, "reports/hotspots.html", context)


@login_required
@require_GET
def hotspot_repeats(request):
    """The hot spots' buildings and households alone, for the page's polling (htmx): still
    being grouped, or the two tables (and the categories' table, its buildings and
    communities filled, swapped out of band). Scoped and logged as the page."""
    _jurisdiction, _params, found, subject = _hotspots_asked(request)
    _log_households(request, found, subject=subject)
    return render(request, "reports/_hotspot_repeats.html", {**_repeats_context(request, found), "oob": True})


@login_required
@require_GET
def staffing(request):
    """社区工作者配比 against the target: the city and districts judged, streets and communities as detail."""
    jurisdiction, _levels, params = _asked(request)
    unit, export = params["unit"], params["export"]
    # The page shows a page of the communities; the export all of them.
    found = staffing_selectors.staffing(jurisdiction=jurisdiction, unit=unit, page=None if export else params["page"])
    if export:
        tables = [t for t in (found.city, found.districts, found.streets) if t.rows]
        return export_response([*tables, found.communities], kind=export, stem="staffing")
    context = {"found": found, "unit": unit, "export_qs": _query_without(request.GET, "export", "page"),
               "page": found.page, "pages": found.pages, "page_qs": _query_without(request.GET, "page", "export")}
    return render(request, "reports/staffing.html", context)


@login_required
@require_GET
def visits(request):
    """入户走访 (issue 22): 走访完成率 and 走访发现问题数 for a period — figures only, for
    everyone who reads reports: one unit (``unit``, else the viewer's own; 404 outside the
    jurisdiction), its totals and a page of its units one level down, each drilling down.
    The export: every level under the unit."""
    jurisdiction, _levels, params = _asked(request)
    period, unit = params["period"], params["unit"]
    if params["export"]:
        found = visit_report_selectors.visit_export(jurisdiction=jurisdiction, period=period, unit=unit)
        return export_response(found, kind=params["export"], stem="visits",
                               heading=f"{found[0].rows[0]['name']} {_('入户走访')} {periods.period_label(period)}")
    report = visit_report_selectors.visit_report(jurisdiction=jurisdiction, period=period, unit=unit,
                                                 page=params["page"])
    def link(kind: str, code: str) -> str:
        return (f"{request.path}?{periods.period_query(period)}" if kind == UnitKind.CITY
                else visit_report_selectors.visit_link(code, period))

    parent_url = link(*report.parent[:2]) if report.parent is not None else None
    own_links = [{"name": name, "url": link(kind, code), "current": code == report.code}
                 for kind, code, name in report.own]
    return render(request, "reports/visits.html", {
        **_common(request, period), "report": report, "parent_url": parent_url, "own_links": own_links,
        "kind_label": UnitKind(report.kind).label,
        "child_label": UnitKind(tables.CHILD[report.kind]).label if report.kind in tables.CHILD else "",
        "hidden": [("unit", unit)] if unit else [], "page": report.page, "pages": report.pages,
        "page_qs": _query_without(request.GET, "page", "export"),
        "export_qs": _query_without(request.GET, "page", "export"),
    })


@login_required
@require_GET
def suggestions(request):
    """智能分拨 (issue 26): the suggestions' acceptance per month and place, and the models
    trained — figures only, for everyone who reads reports, of the appeals they see."""
    jurisdiction, _levels = _viewer(request)
    found = suggestion_selectors.suggestion_report(jurisdiction=jurisdiction)
    tables = [found.months, found.models]
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        return export_response(tables, kind=export, stem="suggestions", heading=_("分拨建议采纳率"))
    return render(request, "reports/suggestions.html", {"tables": tables, "export_qs": ""})


# --- the map (一张图, issue 21) -----------------------------------------------------------------------


@login_required
@require_GET
def map_page(request):
    """The supervisors' map: units coloured by a measure for a period, drilling down on
    click; a density layer of appeals by category and period."""
    jurisdiction, levels = _viewer(request)
    period = periods.period_from_params(request.GET)
    top = report_maps.top_level(levels)
    own = scope.post_units(jurisdiction)
    return render(request, "reports/map.html", {
        **_common(request, period),
        "levels": [(v, UnitKind(v).label) for v in levels if v in LEVELS], "level": request.GET.get("level") or top,
        "measures": [(m.key, m.label) for m in MEASURES], "measure": request.GET.get("measure") or "composite",
        "categories": category_list().order_by("code"), "top_name": own[0][2] if own else "",
        "map_config": map_config(public=False, jurisdiction=jurisdiction),
    })


def _map_query(request):
    form = MapQueryForm(request.GET)
    if not form.is_valid():
        raise ApplicationError(first_error(form))
    return form.cleaned_data["bbox"], form.cleaned_data["zoom"], periods.period_from_params(request.GET)


@map_data_view
def map_data(request):
    """?bbox&zoom&level&measure&period[&parent]: the choropleth (GeoJSON)."""
    jurisdiction, levels = _viewer(request)
    try:
        box, zoom, period = _map_query(request)
        text = report_maps.choropleth(
            jurisdiction=jurisdiction, levels=levels, period=period,
            level=request.GET.get("level") or report_maps.top_level(levels),
            measure=request.GET.get("measure") or "composite", parent=request.GET.get("parent") or None,
            box=box, zoom=zoom,
        )
    except ApplicationError as exc:
        if exc.status_code != 400:
            raise
        return bad_request(exc.message)
    return geojson_response(text)


@map_data_view
def map_density(request):
    """?bbox&zoom&period[&category]: where the period's appeals were raised."""
    jurisdiction, _levels = _viewer(request)
    try:
        box, zoom, period = _map_query(request)
        category = request.GET.get("category") or None
        if category is not None and not category.isdigit():
            raise ApplicationError(_("category 须为类别编号。"))
    except ApplicationError as exc:
        return bad_request(exc.message)
    data = report_maps.density(jurisdiction=jurisdiction, period=period, category=int(category) if category else None,
                               box=box, zoom=zoom)
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})
