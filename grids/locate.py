"""Locating a point: the one service that turns a WGS-84 point into its grid, community
and street, and finds the buildings nearest to it (issue 21, DESIGN.md §10).

Intake (the web form, the API), the grid worker's patrol and Open311 lat/long requests
all route with ``locate``; appeals.services.intake applies the precedence (a chosen
building, then the pin, then the words).

No index of the polygons is kept in the process (30,000 grids would cost hundreds of MB
across the web workers): each call asks SQL for the units whose indexed bounding box
holds the point — a handful — and tests only those with shapely's ``contains``.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import connections, router

from grids import geo
from grids.models import Building, Community, Grid, Street

_BUILDING_RELATED = ("grid__community__street",)


@dataclass
class Location:
    """Where a point is. ``grid``/``community``/``street``: the most precise units whose
    boundary holds it (a grid implies its community and street); ``building``: set only
    when no boundary holds the point and the nearest building within
    LOCATE_FALLBACK_M stands in for it (``method`` says which)."""

    street: Street
    community: Community | None = None
    grid: Grid | None = None
    building: Building | None = None
    method: str = "boundary"  # or "nearest_building"
    distance_m: float | None = None  # to the building, for "nearest_building"

    @property
    def unit(self):
        return self.grid or self.community or self.street


@dataclass(frozen=True)
class NearBuilding:
    building: Building
    distance_m: float


def _holding(model, lat: float, lon: float, *, related=()) -> list:
    """The units of ``model`` whose boundary holds (lat, lon): the bounding boxes in SQL
    (the ``<model>_bbox`` index), then ``contains`` on those candidates; a point on a
    shared edge belongs to the unit of the lower code."""
    candidates = list(
        model.objects.select_related(*related).filter(
            min_lat__lte=lat, max_lat__gte=lat, min_lon__lte=lon, max_lon__gte=lon,
        ).order_by("code")
    )
    if not candidates:
        return []
    point = geo.shapely.Point(lon, lat)
    shapes = geo.load_many([c.boundary for c in candidates])
    return [c for c, s in zip(candidates, shapes, strict=True) if s.covers(point)]


def unit_at(*, lat: float, lon: float) -> Street | Community | Grid | None:
    """The most precise unit whose boundary holds the point: a grid, else a community,
    else a street (where the finer boundaries are not drawn yet), else None."""
    grids = _holding(Grid, lat, lon, related=("community__street",))
    if grids:
        return grids[0]
    communities = _holding(Community, lat, lon, related=("street",))
    if communities:
        return communities[0]
    streets = _holding(Street, lat, lon)
    return streets[0] if streets else None


def nearest_buildings(*, lat: float, lon: float, max_m: float, limit: int = 5) -> list[NearBuilding]:
    """The registered buildings within ``max_m`` metres of the point, nearest first (ties:
    the lower code), at most ``limit``: a box on the building_latlong index, then the
    exact distance on the few candidates."""
    box = geo.Box.around(lat=lat, lon=lon, metres=max_m)
    candidates = Building.objects.select_related(*_BUILDING_RELATED).filter(
        latitude__gte=_bound(box.min_lat, ROUND_FLOOR), latitude__lte=_bound(box.max_lat, ROUND_CEILING),
        longitude__gte=_bound(box.min_lon, ROUND_FLOOR), longitude__lte=_bound(box.max_lon, ROUND_CEILING),
    )
    found = []
    for building in candidates:
        distance = geo.haversine_m(lat, lon, float(building.latitude), float(building.longitude))
        if distance <= max_m:
            found.append((distance, building.code, building))
    found.sort(key=lambda item: item[:2])
    return [NearBuilding(building=b, distance_m=d) for d, _code, b in found[:limit]]


def _bound(value: float, rounding) -> Decimal:
    # Buildings' coordinates are stored to 6 decimals: round the box outwards to them.
    return Decimal(repr(value)).quantize(Decimal("0.000001"), rounding=rounding)


def locate(*, lat: float, lon: float) -> Location | None:
    """Where the point (WGS-84) is.

    Steps: 1. the grid whose boundary holds it (else the community, else the street:
    boundaries may be drawn for the upper levels first); 2. outside every boundary, the
    nearest building within LOCATE_FALLBACK_M (300 m) stands in for it, with
    its grid; 3. otherwise None: the appeal waits for dispatch by hand.
    """
    unit = unit_at(lat=lat, lon=lon)
    if isinstance(unit, Grid):
        return Location(street=unit.community.street, community=unit.community, grid=unit)
    if isinstance(unit, Community):
        return Location(street=unit.street, community=unit)
    if isinstance(unit, Street):
        return Location(street=unit)
    near = nearest_buildings(lat=lat, lon=lon, max_m=settings.LOCATE_FALLBACK_M, limit=1)
    if not near:
        return None
    building = near[0].building
    community = building.grid.community
    return Location(street=community.street, community=community, grid=building.grid, building=building,
                    method="nearest_building", distance_m=near[0].distance_m)


# --- a building and its place, by code ----------------------------------------------------

# The building, its grid, community and street in one row: every intake that names a
# building reads it. Written out once from the models' fields (all of them, as the ORM's
# select_related would read), because building this query through the ORM and making the
# four instances cost ~0.45 ms of CPU per intake against ~0.13 ms here.
_PLACE_CHAIN = ((Building, "b"), (Grid, "g"), (Community, "c"), (Street, "s"))
_PLACE_FIELDS = [[f.attname for f in model._meta.concrete_fields] for model, _alias in _PLACE_CHAIN]


def _place_sql() -> str:
    columns = ", ".join(f'{alias}."{f.column}"' for model, alias in _PLACE_CHAIN for f in model._meta.concrete_fields)
    table = {model: model._meta.db_table for model, _alias in _PLACE_CHAIN}
    return (
        f"SELECT {columns} FROM {table[Building]} b"
        f" JOIN {table[Grid]} g ON g.code = b.{Building._meta.get_field('grid').column}"
        f" JOIN {table[Community]} c ON c.code = g.{Grid._meta.get_field('community').column}"
        f" JOIN {table[Street]} s ON s.code = c.{Community._meta.get_field('street').column}"
        " WHERE b.code = %s"
    )


_PLACE_SQL = _place_sql()


def building_with_place(code: str) -> Building | None:
    """The building with ``code``, its grid, community and street attached (as
    ``select_related("grid__community__street")``), or None: one query."""
    db = router.db_for_read(Building)
    with connections[db].cursor() as cursor:
        cursor.execute(_PLACE_SQL, [str(code)])
        row = cursor.fetchone()
    if row is None:
        return None
    objects, start = [], 0
    for (model, _alias), names in zip(_PLACE_CHAIN, _PLACE_FIELDS, strict=True):
        objects.append(model.from_db(db, names, row[start:start + len(names)]))
        start += len(names)
    building, grid, community, street = objects
    community.street = street
    grid.community = community
    building.grid = grid
    return building
