"""Placing an Open311 request on a registered building (DESIGN.md §8).

A request names its place by one of: ``address_id`` (a building code), ``lat``+``long``
(the nearest building within OPEN311_MAX_DISTANCE_M), or ``address_string`` (matched
against building addresses). Coordinates are WGS-84, as the spec says and as buildings
are stored.
"""

import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.conf import settings
from django.db.models import CharField, F, Q, Value
from django.utils.translation import gettext as _

from grids.models import Building

EARTH_RADIUS_M = 6_371_008.8
_PLACE_RELATED = ("grid__community__street",)
_SEPARATORS = re.compile(r"[,，;；、\s]+")
# An address_string is matched against at most this many candidate buildings.
_MAX_CANDIDATES = 200


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _bound(value: float, rounding) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.000001"), rounding=rounding)


def nearest_building(*, lat: float, lon: float, max_m: float | None = None) -> Building | None:
    """The registered building nearest to (lat, lon) within ``max_m`` metres, or None.

    A bounding box on (latitude, longitude) lets the database use the building_latlong
    index; the exact haversine distance then decides among the few candidates (ties: the
    lower building code, so the answer is deterministic).
    """
    max_m = float(max_m if max_m is not None else settings.OPEN311_MAX_DISTANCE_M)
    dlat = math.degrees(max_m / EARTH_RADIUS_M)
    cos_lat = math.cos(math.radians(lat))
    dlon = 180.0 if cos_lat < 1e-6 else min(180.0, math.degrees(max_m / (EARTH_RADIUS_M * cos_lat)))
    candidates = Building.objects.select_related(*_PLACE_RELATED).filter(
        latitude__gte=_bound(lat - dlat, ROUND_FLOOR), latitude__lte=_bound(lat + dlat, ROUND_CEILING),
        longitude__gte=_bound(lon - dlon, ROUND_FLOOR), longitude__lte=_bound(lon + dlon, ROUND_CEILING),
    )
    best, best_key = None, None
    for building in candidates:
        distance = haversine_m(lat, lon, float(building.latitude), float(building.longitude))
        if distance > max_m:
            continue
        key = (distance, building.code)
        if best_key is None or key < best_key:
            best, best_key = building, key
    return best


def building_by_code(code: str) -> Building | None:
    code = (code or "").strip()
    if not code.isdigit():
        return None
    return Building.objects.select_related(*_PLACE_RELATED).filter(code=code).first()


def building_by_address(text: str) -> Building | None:
    """The building whose address best matches a human-entered address, or None.

    Candidates: the address equals the text or one of its parts (split at commas and
    spaces), contains the text, or is contained in it (a client writes from the most
    specific unit to the most general: "和平里1号楼, 东城区"). Best first: an exact
    match of the whole text, then of a part, then an address contained in the text (the
    longest: the most specific), then an address containing the text (the shortest:
    the closest); a named compound breaks ties, then the building code.
    """
    text = (text or "").strip()
    if not text:
        return None
    folded = text.casefold()
    parts = [p for p in _SEPARATORS.split(text) if p]
    q = Q(address__iexact=text) | Q(address__icontains=text) | Q(address__in=parts)
    # The text contains the building's address (a LIKE with the column as the pattern;
    # Django escapes the column's wildcards on both backends).
    q |= Q(given_text__icontains=F("address"))
    candidates = (
        Building.objects.select_related(*_PLACE_RELATED)
        .alias(given_text=Value(text, output_field=CharField()))
        .filter(q)
        .exclude(address="")
        .order_by("code")[:_MAX_CANDIDATES]
    )
    folded_parts = {p.casefold() for p in parts}

    def rank(building: Building):
        address = building.address.casefold()
        compound_named = bool(building.compound) and building.compound.casefold() in folded
        if address == folded:
            kind, size = 0, 0
        elif address in folded_parts:
            kind, size = 1, 0
        elif address in folded:
            kind, size = 2, -len(address)
        else:
            kind, size = 3, len(address)
        return (kind, not compound_named, size, building.code)

    ranked = sorted(candidates, key=rank)
    return ranked[0] if ranked else None


@dataclass
class Placement:
    building: Building | None
    # One message per location parameter that was given but did not resolve.
    errors: list[str] = field(default_factory=list)


def _coordinate(value: str, *, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or not low <= number <= high:
        return None
    return number


def place(*, address_id: str = "", lat: str = "", long: str = "", address_string: str = "") -> Placement:
    """Resolve the location parameters, most precise first (address_id, then lat/long,
    then address_string); the first that names a building wins. Empty parameters count
    as absent. No building: ``errors`` say which parameter could not be resolved."""
    address_id, lat, long, address_string = (
        (v or "").strip() for v in (address_id, lat, long, address_string)
    )
    errors: list[str] = []
    if address_id:
        building = building_by_code(address_id)
        if building is not None:
            return Placement(building)
        errors.append(_("address_id“%(v)s”不是已登记的楼栋编码。") % {"v": address_id[:40]})
    if lat or long:
        lat_f = _coordinate(lat, low=-90, high=90)
        lon_f = _coordinate(long, low=-180, high=180)
        if not (lat and long):
            errors.append(_("lat 和 long 须同时提供。"))
        elif lat_f is None or lon_f is None:
            errors.append(_("lat/long 须为 WGS-84 经纬度（纬度 -90 至 90，经度 -180 至 180）。"))
        else:
            building = nearest_building(lat=lat_f, lon=lon_f)
            if building is not None:
                return Placement(building)
            errors.append(
                _("lat/long（%(lat)s, %(lon)s）%(m)s 米范围内没有已登记的楼栋。")
                % {"lat": lat[:20], "lon": long[:20], "m": settings.OPEN311_MAX_DISTANCE_M}
            )
    if address_string:
        building = building_by_address(address_string)
        if building is not None:
            return Placement(building)
        errors.append(_("找不到与 address_string“%(v)s”匹配的楼栋地址。") % {"v": address_string[:60]})
    if not errors:
        errors.append(_("请提供位置：lat 和 long、address_string 或 address_id 之一。"))
    return Placement(None, errors)
