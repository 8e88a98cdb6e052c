"""Placing an Open311 request on a registered building (DESIGN.md §8).

A request names its place by one of: ``address_id`` (a building code), ``lat``+``long``
(grids.locate: the grid whose boundary holds the point, else the nearest building
within LOCATE_FALLBACK_M), or ``address_string`` (matched
against the units' names and the buildings' addresses and compounds, in either order:
match_address). An address that names a place but not one building is 地址不明, never
pinned to a guess. Coordinates are WGS-84, as the spec says and as buildings are stored.
"""

import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import CharField, F, Q, Value
from django.utils.translation import gettext as _

from grids.locate import Location, locate, nearest_buildings
from grids.models import Building, Community, District, Street

_PLACE_RELATED = ("grid__community__street",)
_SEPARATORS = re.compile(r"[,，;；、\s]+")
# An address_string is matched against at most this many candidate buildings.
_MAX_CANDIDATES = 200


def nearest_building(*, lat: float, lon: float, max_m: float | None = None) -> Building | None:
    """The registered building nearest to (lat, lon) within ``max_m`` metres (default:
    LOCATE_FALLBACK_M), or None (grids.locate.nearest_buildings)."""
    max_m = float(max_m if max_m is not None else settings.LOCATE_FALLBACK_M)
    near = nearest_buildings(lat=lat, lon=lon, max_m=max_m, limit=1)
    return near[0].building if near else None


def building_by_code(code: str) -> Building | None:
    code = (code or "").strip()
    if not code.isdigit():
        return None
    return Building.objects.select_related(*_PLACE_RELATED).filter(code=code).first()


# --- address_string ---------------------------------------------------------------------------

# The number a building's address ends with: 3号楼, 3栋, 3幢, 3座, 3号.
_TAIL = re.compile(r"\d+(?:号楼|栋|幢|座|号)$")
# A province or city given as a part of its own ("北京市"): not a unit of ours.
_CITY_PART = re.compile(r"^[^\d]{1,8}?[省市]$")
# A province or city before the district in a run-on address ("北京市东城区…").
_CITY_PREFIX = re.compile(r"^(?:[^\d]{1,8}?省)?[^\d]{1,8}?市")


def _fold(value: str) -> str:
    """NFKC (full-width digits and commas become ASCII), case-folded, no spaces."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or "").casefold())


def _mentions(haystacks: tuple[str, ...], needle: str) -> bool:
    """``needle`` occurs in one of ``haystacks`` and not as part of a longer number
    there: "1号楼" is in "和平里1号楼" but not in "和平里11号楼"."""
    if not needle:
        return False
    for hay in haystacks:
        start = hay.find(needle)
        while start != -1:
            end = start + len(needle)
            clear_before = not (needle[0].isdigit() and start > 0 and hay[start - 1].isdigit())
            clear_after = not (needle[-1].isdigit() and end < len(hay) and hay[end].isdigit())
            if clear_before and clear_after:
                return True
            start = hay.find(needle, start + 1)
    return False


@dataclass
class AddressMatch:
    """What an address_string names: ``buildings``, the one building it names or the
    several it could mean; ``street``, the one street the text identifies (the
    buildings' street, or a street or community it names), or None (only a district, or
    buildings in several streets); ``named_units``: it names a district, street or
    community."""

    buildings: list[Building] = field(default_factory=list)
    street: Street | None = None
    named_units: bool = False

    @property
    def building(self) -> Building | None:
        return self.buildings[0] if len(self.buildings) == 1 else None

    @property
    def found(self) -> bool:
        return bool(self.buildings) or self.named_units


def _given(haystacks: tuple[str, ...]) -> dict:
    return {f"given_{i}": Value(h, output_field=CharField()) for i, h in enumerate(haystacks)}


def _occurs(column: str, haystacks: tuple[str, ...]) -> Q:
    """The column's value occurs in one of the texts (a LIKE with the column as the
    pattern; Django escapes the column's wildcards on both backends)."""
    q = Q(pk__in=[])
    for i in range(len(haystacks)):
        q |= Q(**{f"given_{i}__contains": F(column)})
    return q


def _named(model, haystacks: tuple[str, ...]) -> list:
    """The units of ``model`` whose name the text mentions (one query)."""
    found = model.objects.alias(**_given(haystacks)).filter(_occurs("name", haystacks)).exclude(name="")
    return [u for u in found if _mentions(haystacks, _fold(u.name))]


def match_address(text: str) -> AddressMatch:
    """Match a human-entered address in either order, with or without the city and the
    district, with commas or without: general first, as Chinese writes it
    ("北京市东城区东华门街道和平里小区3号楼"), or specific first, as the spec's English
    examples do ("3号楼, 和平里小区, 东华门街道, 东城区, 北京市").

    Steps: 1. fold the text and read it both ways round (its parts joined as given and
    in reverse); 2. the districts, streets and communities it names narrow the search to
    the most specific consistent ones (three queries); 3. the buildings (one query),
    best evidence first — (a) the building's whole address occurs in the text (of two
    found, the one whose address holds the other's), (b) its compound (小区) and its
    number (3号楼) both occur, (c) its address contains what is left of the text once
    the units and the city are taken out ("安定门3号"), (d) only its compound occurs —
    the first kind that finds any decides. Several buildings of that kind, or none but
    a named unit: ambiguous, never pinned to one of them (``building`` is None).
    """
    parts = [_fold(p) for p in _SEPARATORS.split(text or "")]
    parts = [p for p in parts if p]
    if not parts:
        return AddressMatch()
    both_ways = ("".join(parts), "".join(reversed(parts)))

    districts = _named(District, both_ways)
    streets = _named(Street, both_ways)
    communities = _named(Community, both_ways)
    # Keep the units that agree with the coarser ones named.
    if districts:
        streets = [s for s in streets if s.district_id in {d.code for d in districts}] or streets
    if streets:
        communities = [c for c in communities if c.street_id in {s.code for s in streets}] or communities
    scope = [u.code for u in (communities or streets or districts)]

    # What is left without the units and the city, both ways round.
    names = sorted({_fold(u.name) for u in (*districts, *streets, *communities)}, key=len, reverse=True)
    left = []
    for part in parts:
        city = _CITY_PREFIX.match(part)
        if city and any(part[city.end():].startswith(n) for n in names):
            part = part[city.end():]
        for name in names:
            part = part.replace(name, "")
        if part and not _CITY_PART.match(part):
            left.append(part)
    rest = tuple(r for r in ("".join(left), "".join(reversed(left))) if len(r) >= 2)

    query = _occurs("address", both_ways) | (_occurs("compound", both_ways) & ~Q(compound=""))
    for leftover in set(rest):
        query |= Q(address__icontains=leftover)
    candidates = Building.objects.select_related(*_PLACE_RELATED).alias(**_given(both_ways)).filter(query)
    if scope:
        in_scope = Q(pk__in=[])
        for code in scope:
            in_scope |= Q(code__startswith=code)
        candidates = candidates.filter(in_scope)
    candidates = list(candidates.exclude(address="").order_by("code")[:_MAX_CANDIDATES])

    addresses = {b.pk: _fold(b.address) for b in candidates}
    whole = [b for b in candidates if _mentions(both_ways, addresses[b.pk])]
    whole = [b for b in whole if not any(addresses[b.pk] != addresses[o.pk] and addresses[b.pk] in addresses[o.pk]
                                         for o in whole)]
    in_compound = [b for b in candidates if b.compound and _mentions(both_ways, _fold(b.compound))]
    numbered = [b for b in in_compound
                if (tail := _TAIL.search(addresses[b.pk])) and _mentions(both_ways, tail.group(0))]
    partial = [b for b in candidates if any(_mentions((addresses[b.pk],), r) for r in rest)]
    buildings = whole or numbered or partial or in_compound

    match = AddressMatch(buildings=buildings, named_units=bool(scope))
    street_codes = {b.code[:9] for b in buildings}
    if not buildings:
        street_codes = {c.street_id for c in communities} or {s.code for s in streets}
    if len(street_codes) == 1:
        match.street = Street.objects.filter(code=street_codes.pop()).first()
    return match


def building_by_address(text: str) -> Building | None:
    """The one building an address names, or None (none, or several: match_address)."""
    return match_address(text).building


@dataclass
class Placement:
    building: Building | None
    # One message per location parameter that was given but did not resolve.
    errors: list[str] = field(default_factory=list)
    # An address_string that names a place but not one building (地址不明): what it matched.
    unclear: AddressMatch | None = None
    # The reported lat/long, as given (reported_point).
    point: tuple[Decimal, Decimal] | None = None
    # lat/long: where grids.locate put the point (a grid, or the nearest building).
    location: Location | None = None


def _coordinate(value: str, *, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or not low <= number <= high:
        return None
    return number


def reported_point(lat: str, long: str) -> tuple[Decimal, Decimal] | None:
    """The WGS-84 point a client reported, as given (kept to 9 decimals, a millimetre),
    or None when it is absent or not a valid coordinate pair."""
    lat, long = (lat or "").strip(), (long or "").strip()
    if _coordinate(lat, low=-90, high=90) is None or _coordinate(long, low=-180, high=180) is None:
        return None
    nano = Decimal("0.000000001")
    return Decimal(lat).quantize(nano), Decimal(long).quantize(nano)


def place(*, address_id: str = "", lat: str = "", long: str = "", address_string: str = "") -> Placement:
    """Resolve the location parameters, most precise first (address_id, then lat/long,
    then address_string); the first that names a building wins. Empty parameters count
    as absent. No building: ``errors`` say which parameter could not be resolved, and
    ``unclear`` holds an address_string that named a place but not one building. A
    valid reported point is kept in ``point`` whichever parameter placed the request."""
    address_id, lat, long, address_string = (
        (v or "").strip() for v in (address_id, lat, long, address_string)
    )
    point = reported_point(lat, long)
    errors: list[str] = []
    if address_id:
        building = building_by_code(address_id)
        if building is not None:
            return Placement(building, point=point)
        errors.append(_("address_id“%(v)s”不是已登记的楼栋编码。") % {"v": address_id[:40]})
    if lat or long:
        if not (lat and long):
            errors.append(_("lat 和 long 须同时提供。"))
        elif point is None:
            errors.append(_("lat/long 须为 WGS-84 经纬度（纬度 -90 至 90，经度 -180 至 180）。"))
        else:
            location = locate(lat=float(point[0]), lon=float(point[1]))
            if location is not None:
                return Placement(location.building, location=location, point=point)
            errors.append(
                _("lat/long（%(lat)s, %(lon)s）不在任何网格边界内，%(m)s 米范围内也没有已登记的楼栋。")
                % {"lat": lat[:20], "lon": long[:20], "m": settings.LOCATE_FALLBACK_M}
            )
    if address_string:
        match = match_address(address_string)
        if match.building is not None:
            return Placement(match.building, point=point)
        if match.found:
            # Several buildings, or only units: accepted as 地址不明 (services.request_create).
            return Placement(None, errors, unclear=match, point=point)
        errors.append(_("找不到与 address_string“%(v)s”匹配的楼栋地址。") % {"v": address_string[:60]})
    if not errors:
        errors.append(_("请提供位置：lat 和 long、address_string 或 address_id 之一。"))
    return Placement(None, errors, point=point)
