"""Appeals on the map (issue 21): the queue's map, the open appeals near an appeal, and
the places a resident finds by position or by name.

An appeal's point is the one its reporter gave (kept as given), else its building's.
Scoped like every read (appeals.selectors): the queue map is the list's queryset with the
list's filters, only drawn instead of paged. Far out, the server groups the appeals into
clusters by cells of the screen (one GROUP BY), so a city supervisor's map costs the same
few rows as a grid worker's; close in, each appeal is a point.
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from django.conf import settings
from django.db.models import Avg, Case, Count, F, FloatField, IntegerField, Min, QuerySet, Sum, Value, When
from django.db.models.functions import Cast, Coalesce, Floor
from django.urls import reverse

from appeals.enums import OPEN_STATES, AppealState
from appeals.models import Appeal
from appeals.selectors import appeal_browse, appeal_queue, appeal_scope, overdue_q
from governance.staff.selectors import Jurisdiction
from grids import geo
from grids.locate import locate, nearest_buildings
from grids.models import Building, Community

POINTS_ZOOM = 16  # from this zoom on, every appeal is its own point
POINTS_UP_TO = 300  # fewer appeals than this in the box: points at any zoom
MAX_POINTS = 1000
CLUSTER_PIXELS = 64
NEARBY_METRES = 100
NEARBY_LIMIT = 50


def appeal_point(appeal: Appeal) -> tuple[float, float] | None:
    """(lat, lon) of the appeal: the reported point, else its building's (Appeal.map_point)."""
    return appeal.map_point


def _with_point(qs: QuerySet[Appeal]) -> QuerySet[Appeal]:
    return qs.order_by().annotate(
        map_lat=Cast(Coalesce(F("latitude"), F("building__latitude")), FloatField()),
        map_lon=Cast(Coalesce(F("longitude"), F("building__longitude")), FloatField()),
    ).filter(map_lat__isnull=False)


def _in_box(qs: QuerySet[Appeal], box: geo.Box) -> QuerySet[Appeal]:
    return qs.filter(map_lat__gte=box.min_lat, map_lat__lte=box.max_lat,
                     map_lon__gte=box.min_lon, map_lon__lte=box.max_lon)


_POINT_FIELDS = ("pk", "tracking_code", "state", "map_lat", "map_lon", "category__name", "community__name", "grid__name",
                 "street__name", "created_at", "deadline")


def _points(qs: QuerySet[Appeal], now: datetime) -> list[dict]:
    labels = {value: str(label) for value, label in AppealState.choices}
    head, _code, tail = reverse("appeals:detail", args=["-"]).rpartition("-")
    rows = qs.annotate(is_overdue=Case(When(overdue_q(now), then=Value(1)), default=Value(0),
                                       output_field=IntegerField()))
    out = []
    for row in rows.values(*_POINT_FIELDS, "is_overdue").order_by("-created_at", "-id")[:MAX_POINTS]:
        out.append({
            "code": row["tracking_code"], "state": row["state"], "state_label": labels.get(row["state"], ""),
            "overdue": bool(row["is_overdue"]), "lat": round(row["map_lat"], 6), "lon": round(row["map_lon"], 6),
            "category": row["category__name"] or "",
            "place": (row["community__name"] or row["street__name"] or "") + (row["grid__name"] or ""),
            "url": f"{head}{quote(row['tracking_code'])}{tail}",
        })
    return out


def queue_map(*, jurisdiction: Jurisdiction, browse: bool, state: str | None, filters: dict, box: geo.Box,
              zoom: int, now: datetime) -> dict:
    """The queue's appeals in the box, with the list's filters: {"total", "points" or
    "clusters", "unplaced"}. Without a state, the open ones (the work; supervisors too).

    Steps: 1. the list's queryset (appeal_queue, or appeal_browse for read-only
    browsing) with its filters; 2. its appeals that have a point, in the box (count);
    3. close in (POINTS_ZOOM), or few: each appeal as a point, coloured by state and
    overdue; 4. otherwise clusters: one GROUP BY on cells of CLUSTER_PIXELS at this zoom,
    each with its count, overdue count and mean position (a cell of one appeal comes
    as that appeal's point). ``unplaced``: the filtered appeals with no point at all.
    """
    if browse:
        qs = appeal_browse(jurisdiction=jurisdiction, state=state, now=now, **filters)
        if not state:
            qs = qs.filter(state__in=OPEN_STATES)
    else:
        qs = appeal_queue(jurisdiction=jurisdiction, state=state, now=now, **filters)
    placed = _with_point(qs)
    in_box = _in_box(placed, box)
    total = in_box.count()
    result = {"total": total, "zoom": zoom, "points": [], "clusters": []}
    if zoom >= POINTS_ZOOM or total <= POINTS_UP_TO:
        result["points"] = _points(in_box, now)
        result["truncated"] = total > MAX_POINTS
        return result
    cell = geo.pixel_degrees(zoom) * CLUSTER_PIXELS
    cells = (
        in_box.annotate(cy=Floor(F("map_lat") / cell), cx=Floor(F("map_lon") / cell)).values("cy", "cx")
        .annotate(n=Count("pk"), lat=Avg("map_lat"), lon=Avg("map_lon"), one=Min("pk"),
                  overdue=Sum(Case(When(overdue_q(now), then=Value(1)), default=Value(0),
                                   output_field=IntegerField())))
        .order_by()
    )
    singles = []
    for c in cells:
        if c["n"] == 1:
            singles.append(c["one"])
        else:
            result["clusters"].append({"n": c["n"], "overdue": c["overdue"] or 0,
                                       "lat": round(c["lat"], 6), "lon": round(c["lon"], 6)})
    if singles:
        result["points"] = _points(in_box.filter(pk__in=singles), now)
    return result


# --- the appeal page: the open appeals within 100 m --------------------------------------------------


@dataclass(frozen=True)
class NearbyAppeal:
    appeal: Appeal
    distance_m: float
    lat: float
    lon: float


def open_appeals_near(*, jurisdiction: Jurisdiction, appeal: Appeal, metres: float = NEARBY_METRES) -> list[NearbyAppeal]:
    """The other open appeals the viewer sees within ``metres`` of the appeal's point,
    nearest first (at most NEARBY_LIMIT): those reported at a point in the box (the
    appeal_point index), and those at a building in the box (buildings by their
    latitude/longitude index, then appeals by building); the exact distance decides."""
    point = appeal_point(appeal)
    if point is None:
        return []
    lat, lon = point
    box = geo.Box.around(lat=lat, lon=lon, metres=metres)
    scope = appeal_scope(jurisdiction).filter(state__in=OPEN_STATES).exclude(pk=appeal.pk)
    reported = scope.filter(latitude__gte=box.min_lat, latitude__lte=box.max_lat,
                            longitude__gte=box.min_lon, longitude__lte=box.max_lon)
    buildings = Building.objects.filter(latitude__gte=box.min_lat, latitude__lte=box.max_lat,
                                        longitude__gte=box.min_lon, longitude__lte=box.max_lon)
    at_buildings = scope.filter(latitude__isnull=True, building__in=buildings.values("pk"))
    found = []
    for other in (reported | at_buildings).select_related("category", "building", "community", "grid")[:500]:
        other_point = appeal_point(other)
        if other_point is None:
            continue
        distance = geo.haversine_m(lat, lon, *other_point)
        if distance <= metres:
            found.append(NearbyAppeal(appeal=other, distance_m=distance, lat=other_point[0], lon=other_point[1]))
    found.sort(key=lambda n: (n.distance_m, n.appeal.pk))
    return found[:NEARBY_LIMIT]


# --- the resident's submit form: places by position and by name --------------------------------------

PLACE_SEARCH_LIMIT = 8
NEARBY_BUILDINGS = 6


def _building_item(building: Building, distance: float | None = None) -> dict:
    community = building.grid.community
    item = {
        "code": building.code, "address": building.address, "compound": building.compound,
        "lat": float(building.latitude) if building.latitude is not None else None,
        "lon": float(building.longitude) if building.longitude is not None else None,
        "community": {"code": community.code, "name": community.name},
        "street": {"code": community.street.code, "name": community.street.name},
    }
    if distance is not None:
        item["distance_m"] = round(distance)
    return item


def places_near(*, lat: float, lon: float) -> dict:
    """What the submit form shows for a pin: the street, community and grid it falls in
    (names only: public), and the nearest registered buildings to confirm (within
    LOCATE_FALLBACK_M). Public data only: no appeal, no household, no person."""
    location = locate(lat=lat, lon=lon)
    place = None
    if location is not None:
        place = {
            "street": {"code": location.street.code, "name": location.street.name},
            "community": ({"code": location.community.code, "name": location.community.name}
                          if location.community else None),
            "grid": location.grid.name if location.grid else "",
            "method": location.method,
        }
    near = nearest_buildings(lat=lat, lon=lon, max_m=settings.LOCATE_FALLBACK_M, limit=NEARBY_BUILDINGS)
    return {"place": place, "buildings": [_building_item(n.building, n.distance_m) for n in near]}


def places_named(*, query: str) -> dict:
    """A 小区 (compound) or a community by name, from local data: compounds whose name
    starts with ``query`` (the building_compound index), each at the middle of its
    buildings, and communities whose name contains it (a few thousand rows)."""
    query = (query or "").strip()[:50]
    if len(query) < 2:
        return {"compounds": [], "communities": []}
    compounds = (
        Building.objects.filter(compound__startswith=query, latitude__isnull=False)
        .values("compound", community_code=F("grid__community_id"), community_name=F("grid__community__name"),
                street_code=F("grid__community__street_id"), street_name=F("grid__community__street__name"))
        .annotate(lat=Avg("latitude"), lon=Avg("longitude"), buildings=Count("pk"))
        .order_by("compound", "community_code")[:PLACE_SEARCH_LIMIT]
    )
    communities = (
        Community.objects.filter(name__icontains=query)
        .values("code", "name", "street_id", "min_lat", "min_lon", "max_lat", "max_lon", street_name=F("street__name"))
        .order_by("code")[:PLACE_SEARCH_LIMIT]
    )
    return {
        "compounds": [{"name": c["compound"], "lat": round(float(c["lat"]), 6), "lon": round(float(c["lon"]), 6),
                       "buildings": c["buildings"],
                       "community": {"code": c["community_code"], "name": c["community_name"]},
                       "street": {"code": c["street_code"], "name": c["street_name"]}} for c in compounds],
        "communities": [{"code": c["code"], "name": c["name"], "street": {"code": c["street_id"], "name": c["street_name"]},
                         "bounds": ([[c["min_lat"], c["min_lon"]], [c["max_lat"], c["max_lon"]]]
                                    if c["min_lat"] is not None else None)} for c in communities],
    }
