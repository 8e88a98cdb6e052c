"""The territory on the map (issue 21): the base layer's settings, boundaries and
buildings for a box and a zoom, scoped to the viewer's jurisdiction like every read.

Boundaries: the units in the box are found in SQL (their indexed bounding boxes); their
geometry, simplified for the zoom, comes from the shared cache, kept per group of
siblings (the units of one parent) and per zoom under the boundaries' token
(grids.boundaries.boundaries_token), which an import or a generation renews: cached
until the boundaries change. A group missing from the cache is simplified once as a
coverage (neighbours keep their shared edges) and stored.
"""

import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Max, Min

from governance.kernel import shared_cache
from governance.staff.selectors import Jurisdiction
from grids import geo
from grids.boundaries import LEVELS, boundaries_token, parent_code
from grids.models import UNIT_MODELS, Building

GROUP_CACHE_SECONDS = 7 * 24 * 3600  # the token decides; this only bounds the space
MAX_FEATURES = 5000
MAX_BUILDINGS = 2000
BUILDINGS_MIN_ZOOM = 15
_ZOOM_FLOOR = 8  # below it, city-zoom simplification is enough


def public_boundaries_allowed() -> bool:
    """Public pages draw administrative boundaries only over tiles whose attribution
    carries a 审图号 (a map published in China needs one; the portal's own drawing on a
    plain background has none)."""
    return bool(settings.MAP_TILE_URLS) and "审图号" in settings.MAP_TILE_ATTRIBUTION


def map_config(*, public: bool, jurisdiction: Jurisdiction | None = None) -> dict:
    """What static/js/map.js needs to draw a map: the base layer (or none), its CRS, the
    attribution, whether boundaries may be drawn, and the extent to open on — the
    viewer's own units (``jurisdiction``), else the city."""
    bounds = jurisdiction_bounds(jurisdiction) if jurisdiction is not None and not jurisdiction.everything else None
    return {
        "tiles": list(settings.MAP_TILE_URLS),
        "subdomains": settings.MAP_TILE_SUBDOMAINS,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "crs": settings.MAP_TILE_CRS,
        "maxZoom": settings.MAP_TILE_MAX_ZOOM if settings.MAP_TILE_URLS else 19,
        # Staff: the outlines of their territory (grids.map_views.boundaries), none for an
        # account without one (a department handler's queue map).
        "boundaries": public_boundaries_allowed() if public else (jurisdiction is None or jurisdiction.sees_territory),
        "bounds": bounds or city_bounds(),
    }


def jurisdiction_bounds(jurisdiction: Jurisdiction) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the grids inside the jurisdiction (one query)."""
    if not jurisdiction.prefixes:
        return None
    qs = jurisdiction.scope(UNIT_MODELS["grid"].objects.filter(min_lat__isnull=False), "code")
    b = qs.aggregate(s=Min("min_lat"), w=Min("min_lon"), n=Max("max_lat"), e=Max("max_lon"))
    return [[b["s"], b["w"]], [b["n"], b["e"]]] if b["s"] is not None else None


def city_bounds() -> list[list[float]] | None:
    """[[south, west], [north, east]] of the territory: its grids' boundaries, else its
    buildings' points; None when neither is known. Kept under the boundaries' token."""
    token = boundaries_token()
    key = f"grids:city-bounds:{_digest(token, connection.settings_dict['NAME'])}" if token else None
    found = shared_cache.get(key, what="maps") if key else None
    if found is not None:
        return found or None
    # The grids' boxes (the finest level: present wherever any boundary was drawn), else
    # the buildings' points: one query, two without boundaries; then cached.
    b = UNIT_MODELS["grid"].objects.filter(min_lat__isnull=False).aggregate(
        s=Min("min_lat"), w=Min("min_lon"), n=Max("max_lat"), e=Max("max_lon"))
    box = [[b["s"], b["w"]], [b["n"], b["e"]]] if b["s"] is not None else None
    if box is None:
        b = Building.objects.filter(latitude__isnull=False).aggregate(
            s=Min("latitude"), w=Min("longitude"), n=Max("latitude"), e=Max("longitude"))
        if b["s"] is not None:
            box = [[float(b["s"]), float(b["w"])], [float(b["n"]), float(b["e"])]]
    if key:
        shared_cache.put(key, box or [], GROUP_CACHE_SECONDS, what="maps")
    return box


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _zoom_bucket(zoom: int) -> int:
    return max(_ZOOM_FLOOR, min(zoom, geo.FULL_DETAIL_ZOOM))


def in_box(qs, box: geo.Box):
    """Units whose bounding box meets ``box`` (SQL on the indexed columns)."""
    return qs.filter(min_lat__lte=box.max_lat, max_lat__gte=box.min_lat,
                     min_lon__lte=box.max_lon, max_lon__gte=box.min_lon)


@dataclass(frozen=True)
class UnitShape:
    code: str
    name: str
    geometry: str  # GeoJSON text, simplified for the zoom
    label: tuple[float, float]  # (lat, lon): a point inside, for the name


def _group_key(token: str, level: str, group: str, zoom: int) -> str:
    return f"grids:shapes:{_digest(token, connection.settings_dict['NAME'], level, group, zoom)}"


def _simplify_group(level: str, group: str, zoom: int) -> dict[str, UnitShape]:
    """Every unit of ``level`` under ``group`` (a parent's code; "" for the districts),
    simplified together for ``zoom``."""
    qs = UNIT_MODELS[level].objects.filter(boundary__isnull=False)
    if group:
        qs = qs.filter(code__startswith=group)
    rows = list(qs.order_by("code").values_list("code", "name", "boundary"))
    shapes = geo.simplified(geo.load_many([b for _c, _n, b in rows]), zoom=zoom)
    digits = geo.coordinate_digits(zoom)
    out = {}
    for (code, name, _b), shape in zip(rows, shapes, strict=True):
        point = shape.point_on_surface() if not shape.is_empty else None
        out[code] = UnitShape(code=code, name=name, geometry=json.dumps(geo.rounded(shape, digits),
                                                                         separators=(",", ":")),
                              label=(round(point.y, 6), round(point.x, 6)) if point is not None else (0.0, 0.0))
    return out


def unit_shapes(*, level: str, codes: list[str], zoom: int) -> dict[str, UnitShape]:
    """The simplified shapes of these units of ``level`` (codes with a boundary), from the
    cache by group of siblings, computing and storing the groups missing."""
    zoom = _zoom_bucket(zoom)
    groups = sorted({parent_code(c) or "" for c in codes})
    token = boundaries_token()
    found: dict[str, UnitShape] = {}
    if token is None:
        for group in groups:
            found.update(_simplify_group(level, group, zoom))
        return found
    keys = {group: _group_key(token, level, group, zoom) for group in groups}
    cached = shared_cache.get_many(list(keys.values()), what="maps")
    for group, key in keys.items():
        shapes = cached.get(key)
        if shapes is None:
            shapes = _simplify_group(level, group, zoom)
            shared_cache.put(key, shapes, GROUP_CACHE_SECONDS, what="maps")
        found.update(shapes)
    return found


def boundary_collection(*, jurisdiction: Jurisdiction, level: str, box: geo.Box, zoom: int,
                        parent: str | None = None, values: dict | None = None) -> str:
    """A GeoJSON FeatureCollection (text) of the units of ``level`` inside the viewer's
    jurisdiction (and under ``parent``) whose box meets ``box``, simplified for ``zoom``;
    each feature's properties: code, name, level, label [lat, lon], and ``values[code]``
    merged in when given. At most MAX_FEATURES (the collection says ``truncated``)."""
    if level not in LEVELS:
        raise ValueError(level)
    qs = jurisdiction.scope(UNIT_MODELS[level].objects.filter(boundary__isnull=False), "code")
    if parent:
        qs = qs.filter(code__startswith=parent)
    codes = list(in_box(qs, box).order_by("code").values_list("code", flat=True)[:MAX_FEATURES + 1])
    truncated = len(codes) > MAX_FEATURES
    codes = codes[:MAX_FEATURES]
    shapes = unit_shapes(level=level, codes=codes, zoom=zoom)
    parts = []
    for code in codes:
        shape = shapes.get(code)
        if shape is None:
            continue
        properties = {"code": code, "name": shape.name, "level": level, "label": shape.label}
        if values is not None:
            properties.update(values.get(code, {}))
        parts.append('{"type":"Feature","properties":%s,"geometry":%s}'
                     % (json.dumps(properties, ensure_ascii=False, separators=(",", ":")), shape.geometry))
    return '{"type":"FeatureCollection","truncated":%s,"features":[%s]}' % (
        "true" if truncated else "false", ",".join(parts))


def building_points(*, jurisdiction: Jurisdiction, box: geo.Box, zoom: int) -> dict:
    """The buildings (code, address, compound, lat, lon) of the jurisdiction in the box,
    from BUILDINGS_MIN_ZOOM on (none further out: too many to draw); at most MAX_BUILDINGS."""
    if zoom < BUILDINGS_MIN_ZOOM:
        return {"buildings": [], "truncated": False, "min_zoom": BUILDINGS_MIN_ZOOM}
    qs = jurisdiction.scope(Building.objects.all(), "code").filter(
        latitude__gte=box.min_lat, latitude__lte=box.max_lat, longitude__gte=box.min_lon, longitude__lte=box.max_lon,
    )
    rows = list(qs.order_by("code").values_list("code", "address", "compound", "latitude", "longitude")
                [:MAX_BUILDINGS + 1])
    return {
        "buildings": [{"code": c, "address": a, "compound": p, "lat": float(la), "lon": float(lo)}
                      for c, a, p, la, lo in rows[:MAX_BUILDINGS]],
        "truncated": len(rows) > MAX_BUILDINGS, "min_zoom": BUILDINGS_MIN_ZOOM,
    }


def level_for_zoom(zoom: int, *, top: str = "district") -> str:
    """The level a staff map outlines at ``zoom`` (districts far out, grids close in),
    never above ``top`` (the viewer's own highest level)."""
    level = "district" if zoom < 11 else "street" if zoom < 13 else "community" if zoom < 15 else "grid"
    return level if LEVELS.index(level) >= LEVELS.index(top) else top
