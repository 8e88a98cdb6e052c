"""The maps of appeals (issue 21): the queue's map view and its data (staff), and the
places a resident finds by position or by name (public). Thin: forms read the query
(400 for bad input), appeals.maps answers within the viewer's scope."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from appeals import maps, permissions
from appeals.forms import QueueFilterForm
from appeals.public_views import public_read
from appeals.views import _grid_filter_choices, _querystring
from governance.staff.selectors import jurisdiction_for
from grids.map_forms import MapQueryForm, PointForm, first_error
from grids.map_views import bad_request, map_data_view
from grids.maps import map_config


def _json(data: dict) -> JsonResponse:
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})


def _queue_scope(request):
    jur = jurisdiction_for(request.user)
    browse = jur.read_only or request.GET.get("scope") == "1"
    return jur, browse, QueueFilterForm(request.GET, grids=_grid_filter_choices(jur))


@login_required
@require_GET
def queue_map(request):
    """The queue as a map: the same filters as the list (the form and its query string),
    the appeals drawn by state and overdue, clustered when zoomed out."""
    jur, browse, form = _queue_scope(request)
    if not permissions.may_work_queue(jur):
        return redirect("volunteers:home")
    return render(request, "appeals/staff/queue_map.html", {
        "form": form, "browse": browse, "read_only": jur.read_only, "map_config": map_config(public=False, jurisdiction=jur),
        "list_qs": _querystring(request), "show_grid": True,
    })


@map_data_view
def queue_map_data(request):
    """?bbox&zoom plus the list's filters: the appeals in the box (appeals.maps.queue_map)."""
    map_form = MapQueryForm(request.GET)
    if not map_form.is_valid():
        return bad_request(first_error(map_form))
    jur, browse, form = _queue_scope(request)
    if not form.is_valid():
        return bad_request(first_error(form))
    return _json(maps.queue_map(
        jurisdiction=jur, browse=browse, state=form.cleaned_data.get("state") or None,
        filters=form.selector_filters(), box=map_form.cleaned_data["bbox"], zoom=map_form.cleaned_data["zoom"],
        now=timezone.now(),
    ))


# --- public: the submit form's places ------------------------------------------------------------------


@require_GET
@public_read
def places_near(request):
    """?lat&lon (WGS-84): where the pin is, and the buildings nearest to it."""
    form = PointForm(request.GET)
    if not form.is_valid():
        return bad_request(first_error(form))
    return _json(maps.places_near(lat=form.cleaned_data["lat"], lon=form.cleaned_data["lon"]))


@require_GET
@public_read
def places_named(request):
    """?q: 小区 and communities by name, from local data."""
    query = request.GET.get("q", "")
    if len(query) > 50:
        return bad_request("q 不能超过 50 个字。")
    return _json(maps.places_named(query=query))
