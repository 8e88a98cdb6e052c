"""The measures of DESIGN.md §5 from summed counters, the unit hierarchy, and ranking.

Pure functions: the nightly computation (services) and the reports' custom periods
(selectors) use the same ones, so a month and a range are computed alike.

Rates are percentages rounded half-up to 2 decimals; a rate whose denominator is zero
is None (shown as "—"). The composite is computed from the unrounded rates.
"""

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from governance.assessment.enums import UnitKind

_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
RATE_FIELDS = (
    "response_rate", "resolution_rate", "satisfaction_rate", "closure_rate", "on_time_rate",
    "rework_rate", "composite", "kept_in_grid_rate", "kept_in_community_rate", "self_kept_in_grid_rate",
)


def _ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


def _pct(value: Decimal | None) -> Decimal | None:
    return None if value is None else (value * _HUNDRED).quantize(_CENT, rounding=ROUND_HALF_UP)


def rate(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` as a rate: a percentage, 2 decimals half-up; None when ``whole`` is 0.
    The reports' other rates (走访完成率, 智能分拨's acceptance) are this one too."""
    return _pct(_ratio(part, whole))


def weights() -> tuple[Decimal, Decimal, Decimal]:
    w = settings.SCORE_WEIGHTS
    return Decimal(str(w["response"])), Decimal(str(w["resolution"])), Decimal(str(w["satisfaction"]))


def measures(c: Mapping[str, int]) -> dict:
    """Rates (percent), composite and averages from one unit's summed counters.

    - 响应率 = responded_in_time / dispatched
    - 解决率 = solved / evaluated
    - 满意率 = (satisfied + w × basically_satisfied) / evaluated, w = SCORE_BASICALLY_SATISFIED_WEIGHT (0.9)
    - 结案率 = resolved / (due − deferred);  按期结案率 = resolved_on_time / (due − deferred)
    - 返工率 = reworked / resolved
    - 综合得分 = 100 × (w_r × 响应率 + w_s × 解决率 + w_m × 满意率) (SCORE_WEIGHTS); None
      unless both the response and the evaluation denominators have appeals.
    - 不出格率 = grid_kept / grid_resolved; 主动发现不出格率 = self_grid_kept / self_grid_resolved
    - 不出社区率 = community_kept / community_resolved
      Reported, not in the composite. DESIGN.md §5 defines both; issue 15 is more precise
      and the counting follows it (services.tally_appeals): 不出格率 counts for the grid
      an appeal was first dispatched to, of its appeals that reached 办结 those with no
      escalation, 上报, 吹哨 or handling outside the grid (one escalated to the community
      and resolved there counts against the grid); 不出社区率 for the community of the
      appeal's place, of the appeals first dispatched to it or one of its grids that
      reached 办结 those resolved within it; an appeal returned and dispatched again
      elsewhere leaves both; 考核核减 and the deadline's month apply as everywhere.
      主动发现 appeals (巡查, 走访) are out of 响应率, 解决率 and 满意率 and of 不出格率, which
      they have a column of their own for; they count in 不出社区率 as the issue defines it.
      A grid has no 不出社区率, a department neither (None: "—").
    """
    basically = Decimal(str(settings.SCORE_BASICALLY_SATISFIED_WEIGHT))
    response = _ratio(c["responded_in_time"], c["dispatched"])
    resolution = _ratio(c["solved"], c["evaluated"])
    satisfaction = _ratio(Decimal(c["satisfied"]) + basically * c["basically_satisfied"], c["evaluated"])
    closable = c["due"] - c["deferred"]
    composite = None
    if response is not None and resolution is not None:
        w_response, w_resolution, w_satisfaction = weights()
        composite = _pct(w_response * response + w_resolution * resolution + w_satisfaction * satisfaction)
    return {
        "response_rate": _pct(response),
        "resolution_rate": _pct(resolution),
        "satisfaction_rate": _pct(satisfaction),
        "closure_rate": _pct(_ratio(c["resolved"], closable)),
        "on_time_rate": _pct(_ratio(c["resolved_on_time"], closable)),
        "rework_rate": _pct(_ratio(c["reworked"], c["resolved"])),
        "composite": composite,
        "kept_in_grid_rate": _pct(_ratio(c["grid_kept"], c["grid_resolved"])),
        "kept_in_community_rate": _pct(_ratio(c["community_kept"], c["community_resolved"])),
        "self_kept_in_grid_rate": _pct(_ratio(c["self_grid_kept"], c["self_grid_resolved"])),
        "avg_response_seconds": round(c["response_seconds"] / c["response_count"]) if c["response_count"] else None,
        "avg_resolution_seconds": (
            round(c["resolution_seconds"] / c["resolution_count"]) if c["resolution_count"] else None
        ),
    }


# --- the hierarchy: codes nest ------------------------------------------------------------

_CODE_LENGTH = {UnitKind.GRID: 15, UnitKind.COMMUNITY: 12, UnitKind.STREET: 9, UnitKind.DISTRICT: 6}


def city_code(district_code: str) -> str:
    """The prefecture-level city of a district (GB/T 2260): 110101 → 110100."""
    return district_code[:4] + "00"


def ancestors(kind: str, code: str) -> list[tuple[str, str]]:
    """The unit itself and every unit its appeals roll up into, bottom-up:
    grid → community → street → district → city; department → district → city."""
    if kind == UnitKind.CITY:
        return [(kind, code)]
    if kind == UnitKind.DEPARTMENT:
        district = code[:6]
        return [(kind, code), (UnitKind.DISTRICT, district), (UnitKind.CITY, city_code(district))]
    chain = []
    for level in (UnitKind.GRID, UnitKind.COMMUNITY, UnitKind.STREET, UnitKind.DISTRICT):
        if len(code) >= _CODE_LENGTH[level] and _CODE_LENGTH[level] <= _CODE_LENGTH[kind]:
            chain.append((level, code[: _CODE_LENGTH[level]]))
    chain.append((UnitKind.CITY, city_code(code[:6])))
    return chain


def peer_group(kind: str, code: str) -> str:
    """Who a unit is ranked against: grids within their community, communities within
    their street, streets within their district (and the city: city_rank), districts and
    departments within the city. The city is not ranked ("")."""
    if kind == UnitKind.GRID:
        return code[:12]
    if kind == UnitKind.COMMUNITY:
        return code[:9]
    if kind == UnitKind.STREET:
        return code[:6]
    if kind in (UnitKind.DISTRICT, UnitKind.DEPARTMENT):
        return city_code(code[:6])
    return ""


# --- ranking --------------------------------------------------------------------------------


def rankable(row: Mapping) -> bool:
    """A unit with no appeals in the composite's denominators is shown but not ranked."""
    return row.get("composite") is not None


def competition_ranks(rows: Iterable[Mapping], *, group_of) -> dict[tuple[str, str], int]:
    """Standard competition ranking ("1224") by composite, highest first, within each group.

    Equal composites (to the stored 2 decimals) share a rank and the next rank skips;
    ties are listed by unit code. Returns {(kind, code): rank} for rankable rows only.
    """
    groups: dict[str, list[Mapping]] = {}
    for row in rows:
        if rankable(row):
            groups.setdefault(group_of(row), []).append(row)
    ranks = {}
    for members in groups.values():
        members.sort(key=lambda r: (-r["composite"], r["unit_code"]))
        previous, rank = None, 0
        for position, row in enumerate(members, start=1):
            if row["composite"] != previous:
                rank, previous = position, row["composite"]
            ranks[(row["unit_kind"], row["unit_code"])] = rank
    return ranks
