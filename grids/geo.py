"""Geometry of the territory (issue 21), on shapely 2 (GEOS), no GDAL or PostGIS.

Coordinates are WGS-84/CGCS2000 longitude/latitude in degrees (shapely's x is the
longitude). Distances and tolerances are in metres, measured in a local projection: an
equirectangular projection around the geometry's own centre (x = R·cos φ₀·Δλ, y = R·Δφ).
Over a district (tens of kilometres) its scale error stays below 0.1 %, far less than
the tolerances it measures; it needs no projection library.

The GCJ-02 offset of Chinese web maps is the browser's business (static/js/map.js):
positions are stored in WGS-84 and converted only for display on GCJ-02 tiles.
"""

import json
import math
from dataclasses import dataclass

import shapely
from shapely.geometry import mapping, shape

EARTH_RADIUS_M = 6_371_008.8
POLYGONAL = ("Polygon", "MultiPolygon")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Box:
    """A latitude/longitude box (degrees)."""

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float

    @classmethod
    def around(cls, *, lat: float, lon: float, metres: float) -> "Box":
        """The box that holds every point within ``metres`` of (lat, lon)."""
        dlat = math.degrees(metres / EARTH_RADIUS_M)
        cos_lat = math.cos(math.radians(lat))
        dlon = 180.0 if cos_lat < 1e-6 else min(180.0, math.degrees(metres / (EARTH_RADIUS_M * cos_lat)))
        return cls(lat - dlat, lon - dlon, lat + dlat, lon + dlon)

    @classmethod
    def of(cls, geometry) -> "Box":
        min_lon, min_lat, max_lon, max_lat = geometry.bounds
        return cls(min_lat, min_lon, max_lat, max_lon)

    def intersects(self, other: "Box") -> bool:
        return not (other.min_lat > self.max_lat or other.max_lat < self.min_lat
                    or other.min_lon > self.max_lon or other.max_lon < self.min_lon)

    def polygon(self):
        return shapely.box(self.min_lon, self.min_lat, self.max_lon, self.max_lat)


class LocalProjection:
    """Metres east and north of an origin (equirectangular; see the module docstring)."""

    def __init__(self, *, lat: float, lon: float) -> None:
        self.lat, self.lon = lat, lon
        self.kx = math.radians(1) * EARTH_RADIUS_M * math.cos(math.radians(lat))
        self.ky = math.radians(1) * EARTH_RADIUS_M

    @classmethod
    def around(cls, geometry) -> "LocalProjection":
        centre = geometry.envelope.centroid
        return cls(lat=centre.y, lon=centre.x)

    def to_metres(self, geometry):
        return shapely.transform(geometry, lambda xy: (xy - (self.lon, self.lat)) * (self.kx, self.ky))

    def to_degrees(self, geometry):
        return shapely.transform(geometry, lambda xy: xy / (self.kx, self.ky) + (self.lon, self.lat))


class GeometryError(ValueError):
    """A geometry that cannot be a unit's boundary; the message is for the person who sent it."""


def parse_boundary(geometry) -> object:
    """A GeoJSON geometry (a dict) as a shapely Polygon or MultiPolygon, checked: the
    type, coordinates within WGS-84's range, and a valid (simple, closed, non
    self-intersecting) shape. Raises GeometryError with the reason in Chinese."""
    if not isinstance(geometry, dict) or geometry.get("type") not in POLYGONAL:
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise GeometryError(f"几何类型须为 Polygon 或 MultiPolygon（收到 {kind}）")
    try:
        parsed = shape(geometry)
    except Exception as exc:  # shapely raises several kinds for malformed coordinates
        raise GeometryError(f"坐标格式不正确：{exc}") from None
    if parsed.is_empty:
        raise GeometryError("几何为空")
    min_lon, min_lat, max_lon, max_lat = parsed.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise GeometryError("坐标超出 WGS-84 经纬度范围（经度 -180 至 180，纬度 -90 至 90；顺序为 [经度, 纬度]）")
    if not parsed.is_valid:
        raise GeometryError(f"几何无效：{shapely.is_valid_reason(parsed)}")
    return parsed


def boundary_text(geometry: dict) -> str:
    """The text a boundary is stored as: the geometry as given, in compact JSON with its
    keys sorted, so that an export imported again stores the same text."""
    return json.dumps({"type": geometry["type"], "coordinates": geometry["coordinates"]},
                      separators=(",", ":"), ensure_ascii=False)


def load(text: str):
    """A stored boundary as a shapely geometry."""
    return shapely.from_geojson(text)


def load_many(texts: list[str]) -> list:
    """Stored boundaries as shapely geometries (one GEOS call for all)."""
    return list(shapely.from_geojson(texts)) if texts else []


def as_geojson(geometry) -> dict:
    return mapping(geometry)


# --- display: simplified geometry by zoom --------------------------------------------------------

# Web Mercator: metres per pixel at zoom 0 on the equator (256-pixel tiles).
_METRES_PER_PIXEL_Z0 = 2 * math.pi * 6_378_137 / 256
FULL_DETAIL_ZOOM = 17  # from here on boundaries are sent as stored


def pixel_degrees(zoom: int) -> float:
    """About one screen pixel at ``zoom``, in degrees of latitude (≈ of longitude at
    Beijing's latitude, where a degree of longitude is 0.77 of one of latitude and the
    Mercator pixel is as much smaller: the two cancel)."""
    metres = _METRES_PER_PIXEL_Z0 / 2 ** zoom
    return math.degrees(metres / EARTH_RADIUS_M)


def coordinate_digits(zoom: int) -> int:
    """Decimals that keep a tenth of a pixel at ``zoom`` (5 at city zoom: about 1 m)."""
    return max(4, min(7, math.ceil(-math.log10(pixel_degrees(zoom) / 10))))


def simplified(geometries: list, *, zoom: int) -> list:
    """The geometries simplified to about a pixel at ``zoom``, as a coverage: units that
    share an edge still share it after simplification (no gaps, no overlaps between
    neighbours), which simplifying each polygon on its own would break. At
    FULL_DETAIL_ZOOM and beyond, unchanged."""
    if zoom >= FULL_DETAIL_ZOOM or not geometries:
        return list(geometries)
    tolerance = pixel_degrees(zoom)
    try:
        return list(shapely.coverage_simplify(geometries, tolerance, simplify_boundary=True))
    except shapely.errors.GEOSException:
        # Not a clean coverage (units that overlap a little): each on its own.
        return list(shapely.simplify(geometries, tolerance, preserve_topology=True))


def rounded(geometry, digits: int) -> dict:
    """GeoJSON of ``geometry`` with its coordinates rounded to ``digits`` decimals."""
    return json.loads(shapely.to_geojson(shapely.set_precision(geometry, 10 ** -digits, mode="pointwise")))
