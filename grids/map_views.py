"""Map data of the territory for the staff maps (issue 21): boundaries and buildings for
the box on screen. Thin: a form reads the query (400 for bad input), grids.maps answers
within the viewer's jurisdiction. Compressed: outlines are long and repetitive."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from governance.kernel.errors import NotFound
from governance.staff.selectors import jurisdiction_for
from grids import maps
from grids.boundaries import LEVELS
from grids.map_forms import MapQueryForm, first_error
from grids.models import LEVEL_BY_LENGTH


def map_data_view(view):
    """A staff map's data: for an account, GET only, compressed (outlines are long and
    repetitive)."""
    return gzip_page(login_required(require_GET(view)))


def bad_request(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400, json_dumps_params={"ensure_ascii": False})


def geojson_response(text: str) -> HttpResponse:
    response = HttpResponse(text, content_type="application/geo+json; charset=utf-8")
    response["Cache-Control"] = "private, max-age=60"
    return response


def _territory_query(request):
    """The viewer's jurisdiction and the box and zoom asked for; a 400 response for bad input,
    404 for an account that sees no territory."""
    form = MapQueryForm(request.GET)
    if not form.is_valid():
        return bad_request(first_error(form))
    jurisdiction = jurisdiction_for(request.user)
    if not jurisdiction.sees_territory:
        raise NotFound()
    return jurisdiction, form.cleaned_data


@map_data_view
def boundaries(request):
    """?bbox=W,S,E,N&zoom=Z[&level=district|street|community|grid][&parent=CODE]: the
    outlines of the viewer's units in the box (level: by zoom when not given)."""
    asked = _territory_query(request)
    if isinstance(asked, HttpResponse):
        return asked
    jurisdiction, query = asked
    zoom, box = query["zoom"], query["bbox"]
    # By zoom, but never above the viewer's own units (a grid worker sees their grid far out too).
    top = LEVEL_BY_LENGTH.get(min((len(p) for p in jurisdiction.prefixes), default=6), "grid")
    level = request.GET.get("level") or maps.level_for_zoom(zoom, top=top)
    if level not in LEVELS:
        return bad_request("level 须为 district、street、community 或 grid。")
    parent = request.GET.get("parent") or None
    if parent and (not parent.isdigit() or not jurisdiction.covers(parent) and not any(
            p.startswith(parent) for p in jurisdiction.prefixes)):
        raise NotFound()
    return geojson_response(maps.boundary_collection(jurisdiction=jurisdiction, level=level, box=box, zoom=zoom,
                                                     parent=parent))


@map_data_view
def buildings(request):
    """?bbox=W,S,E,N&zoom=Z: the viewer's buildings in the box, from zoom 15 on."""
    asked = _territory_query(request)
    if isinstance(asked, HttpResponse):
        return asked
    jurisdiction, query = asked
    return JsonResponse(maps.building_points(jurisdiction=jurisdiction, box=query["bbox"], zoom=query["zoom"]),
                        json_dumps_params={"ensure_ascii": False})
