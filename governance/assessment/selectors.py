"""Scores for the report pages (issue 5), read from stored rows only.

``scores_for(jurisdiction=…, period=…, level=…, parent_code=None) -> ScoreTable``

- ``period``: a governance.assessment.periods.Period — ``Period.month(2026, 10)``,
  ``Period.quarter(2026, 4)``, ``Period.range(date(2026, 10, 1), date(2026, 10, 15))``, or
  ``Period.parse("2026-10" | "2026Q4" | "2026-10-01..2026-10-15")`` from a query string.
  A month is read from MonthlyScore (its stored ranks; final or provisional); a
  quarter or a range is summed from DailyTally rows — sums of numerators and
  denominators, never averages of rates — and ranked the same way on the fly.
- ``level``: a UnitKind value: grid, community, street, district, department, city.
- ``parent_code``: drill down to the units under one unit (the grids of a community,
  the departments of a district, …); outside the viewer's jurisdiction → NotFound (404).
- Scope: only units inside the jurisdiction are returned (a grid worker sees their
  grid, a district supervisor the district's units and departments, a department
  handler their department); a level above the viewer's reach gives no rows. Ranks are
  always among all peers, including those the viewer cannot see.
- Each ScoreRow: the unit (kind, code, name, peer group), every counter, the rates in
  percent (None when the denominator is empty), average response/resolution seconds,
  rank / peer_count (None/ranked units; unranked: no appeals in the composite's
  denominators), city_rank for streets, previous_rank and rank_change (positive =
  moved up) against the period before (previous month / quarter / range of equal
  length). Rows are ordered by rank (unranked last), then code.

Queries: a bounded handful per call, whatever the number of appeals.

``stored_month(jurisdiction=…, period=…, level=…, parent_code=None) -> StoredMonth | None``
is the same month's table left in the database, for a caller that sorts and pages it in
SQL (the report page shows one page of a city's 3,000 communities): a MonthlyScore
queryset of the visible units with previous_rank and rank_change as SQL expressions,
its number of rows, final and as_of; ``stored_rows(stored, ids)`` then loads the page's
ScoreRows. None when the stored rows are not exactly the visible units (a unit created
or deleted since the month was computed, a month never computed, a quarter or a range,
the city level): the caller reads scores_for, which fills the gaps.

``scores_token()``: a token in the shared cache that changes whenever compute_month has
stored a month (after its commit); what is cached from stored scores is keyed by it.
"""

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, ExpressionWrapper, F, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils.translation import gettext as _

from governance.assessment import formulas
from governance.assessment.enums import UnitKind
from governance.assessment.models import COUNTERS, DailyTally, MonthlyScore
from governance.assessment.periods import Period
from governance.kernel import shared_cache
from governance.kernel.codes import descendants_q, parent_in_q
from governance.kernel.errors import ApplicationError, NotFound
from grids.models import UNIT_MODELS, Department, District

SCORES_TOKEN_KEY = "assessment:scores-token"


@dataclass
class ScoreRow:
    unit_kind: str
    unit_code: str
    unit_name: str
    peer_group: str
    dispatched: int = 0
    responded_in_time: int = 0
    evaluated: int = 0
    solved: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    due: int = 0
    deferred: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    reworked: int = 0
    excluded: int = 0
    response_seconds: int = 0
    response_count: int = 0
    resolution_seconds: int = 0
    resolution_count: int = 0
    grid_resolved: int = 0
    grid_kept: int = 0
    community_resolved: int = 0
    community_kept: int = 0
    self_found: int = 0
    self_found_resolved: int = 0
    self_grid_resolved: int = 0
    self_grid_kept: int = 0
    response_rate: Decimal | None = None
    resolution_rate: Decimal | None = None
    satisfaction_rate: Decimal | None = None
    closure_rate: Decimal | None = None
    on_time_rate: Decimal | None = None
    rework_rate: Decimal | None = None
    composite: Decimal | None = None
    kept_in_grid_rate: Decimal | None = None
    kept_in_community_rate: Decimal | None = None
    self_kept_in_grid_rate: Decimal | None = None
    avg_response_seconds: int | None = None
    avg_resolution_seconds: int | None = None
    rank: int | None = None
    peer_count: int = 0
    city_rank: int | None = None
    city_peer_count: int = 0
    previous_rank: int | None = None
    rank_change: int | None = None

    @property
    def ranked(self) -> bool:
        return self.rank is not None


_ROW_FIELDS = {f.name for f in fields(ScoreRow)}


@dataclass
class ScoreTable:
    period: Period
    level: str
    parent_code: str | None
    rows: list[ScoreRow] = field(default_factory=list)
    final: bool = False  # every month of the period is final
    as_of: datetime | None = None  # months: the latest data time of the stored rows


_MODELS = UNIT_MODELS  # by unit kind: the kinds are the level names


def _visible_q(jurisdiction, path: str) -> Q | None:
    """Units inside the jurisdiction: by code range (a department's code starts with its
    district's), plus the account's own departments. None: no restriction."""
    q = jurisdiction.code_range_q(path)
    if q is None:
        return None
    if jurisdiction.department_ids:
        codes = list(Department.objects.filter(pk__in=jurisdiction.department_ids).values_list("code", flat=True))
        q |= Q(**{f"{path}__in": codes})
    return q


def _units(level: str, prefixes: list[str] | None) -> dict[tuple[str, str], str]:
    """The units of ``level`` (code → name) under any of ``prefixes`` (None: all)."""
    if level == UnitKind.CITY:
        codes = {formulas.city_code(c) for c in District.objects.values_list("code", flat=True)}
        return {(level, c): _("全市") for c in codes if prefixes is None or any(c.startswith(p) for p in prefixes)}
    qs = _MODELS[level].objects.all()
    if prefixes is not None:
        qs = qs.filter(parent_in_q("code", prefixes))
    return {(level, code): name for code, name in qs.values_list("code", "name")}


def _peer_prefixes(level: str, visible_codes: list[str]) -> list[str] | None:
    """The code prefixes that hold every peer of the visible units (None: the whole city;
    streets are also ranked city-wide, districts and departments are few)."""
    if level in (UnitKind.GRID, UnitKind.COMMUNITY):
        return sorted({formulas.peer_group(level, code) for code in visible_codes})
    return None


def _from_months(*, period: Period, level: str, codes: set[str]) -> tuple[dict, bool, datetime | None]:
    rows = MonthlyScore.objects.filter(month=period.first, unit_kind=level, unit_code__in=codes)
    found = {r.unit_code: r for r in rows}
    final = bool(found) and all(r.final for r in found.values())
    as_of = max((r.as_of for r in found.values()), default=None)
    return found, final, as_of


def _summed(*, period: Period, level: str, prefixes: list[str] | None, names: dict) -> dict[str, dict]:
    """Rows (as dicts) for every unit of ``names``, summed from daily tallies and ranked."""
    qs = DailyTally.objects.filter(unit_kind=level, day__gte=period.first, day__lte=period.last)
    if prefixes is not None:
        qs = qs.filter(parent_in_q("unit_code", prefixes))
    sums = {
        (level, r.pop("unit_code")): r
        for r in qs.values("unit_code").order_by().annotate(**{n: Sum(n) for n in COUNTERS})
    }
    from governance.assessment.services import score_rows

    return {r["unit_code"]: r for r in score_rows(sums=sums, names=names)}


def _row(source) -> ScoreRow:
    if isinstance(source, dict):
        return ScoreRow(**{k: v for k, v in source.items() if k in _ROW_FIELDS})
    return ScoreRow(**{name: getattr(source, name) for name in _ROW_FIELDS if hasattr(source, name)})


def _checked_parent(*, jurisdiction, level: str, parent_code: str | None) -> str | None:
    """The level must exist (ApplicationError) and the parent lie inside the jurisdiction
    (NotFound); returns the parent's code stripped."""
    if level not in UnitKind.values:
        raise ApplicationError(_("未知的单位层级“%(level)s”。") % {"level": level})
    if parent_code is not None:
        parent_code = parent_code.strip()
        if not parent_code or not jurisdiction.covers(parent_code):
            raise NotFound()
    return parent_code


def scores_for(*, jurisdiction, period: Period, level: str, parent_code: str | None = None) -> ScoreTable:
    """The report table for ``level`` units in ``period`` (see the module docstring)."""
    parent_code = _checked_parent(jurisdiction=jurisdiction, level=level, parent_code=parent_code)
    table = ScoreTable(period=period, level=level, parent_code=parent_code)

    # The visible units: under the parent, inside the jurisdiction.
    qs_prefixes = [parent_code] if parent_code else None
    candidates = _units(level, qs_prefixes)
    visible_q = _visible_q(jurisdiction, "code")
    if visible_q is not None:
        if level == UnitKind.CITY:
            candidates = {k: v for k, v in candidates.items() if jurisdiction.covers(k[1])}
        else:
            allowed = set(_MODELS[level].objects.filter(visible_q).values_list("code", flat=True))
            candidates = {k: v for k, v in candidates.items() if k[1] in allowed}
    visible = sorted(code for _kind, code in candidates)
    if not visible:
        return table

    previous = period.previous()
    if period.kind == "month" and MonthlyScore.objects.filter(month=period.first, unit_kind=level).exists():
        current, table.final, table.as_of = _from_months(period=period, level=level, codes=set(visible))
        before, _f, _a = _from_months(period=previous, level=level, codes=set(visible))
        rows = [_row(current[c]) if c in current else _row({"unit_kind": level, "unit_code": c,
                "unit_name": candidates[(level, c)], "peer_group": formulas.peer_group(level, c)})
                for c in visible]
        previous_ranks = {c: r.rank for c, r in before.items()}
    else:
        prefixes = _peer_prefixes(level, visible)
        names = _units(level, prefixes)
        current = _summed(period=period, level=level, prefixes=prefixes, names=names)
        before = _summed(period=previous, level=level, prefixes=prefixes, names=names)
        rows = [_row(current[c]) for c in visible if c in current]
        previous_ranks = {c: r["rank"] for c, r in before.items()}
        months = MonthlyScore.objects.filter(
            month__gte=period.first.replace(day=1), month__lte=period.last, unit_kind=level, unit_code=visible[0]
        ).values_list("final", flat=True)
        expected = (period.last.year - period.first.year) * 12 + period.last.month - period.first.month + 1
        table.final = len(months) == expected and all(months)
    for row in rows:
        row.previous_rank = previous_ranks.get(row.unit_code)
        if row.rank is not None and row.previous_rank is not None:
            row.rank_change = row.previous_rank - row.rank
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.unit_code))
    table.rows = rows
    return table


# --- a stored month, left in the database for sorting and paging -----------------------------


@dataclass
class StoredMonth:
    """The month's stored rows of the units scores_for would list, one per unit, not
    loaded: ``rows`` is a MonthlyScore queryset annotated with ``previous_rank`` and
    ``rank_change`` (for sorting; computed only if a query uses them); ``total`` its
    number of rows; ``final`` and ``as_of`` as in ScoreTable."""

    rows: QuerySet
    total: int
    final: bool
    as_of: datetime | None
    period: Period
    level: str
    key: str  # names these rows: the period, level, parent, the jurisdiction's scope, the counts


def _department_codes(jurisdiction) -> list[str]:
    if not jurisdiction.department_ids:
        return []
    return list(Department.objects.filter(pk__in=jurisdiction.department_ids).values_list("code", flat=True))


def _scope_q(jurisdiction, path: str, parent_code: str | None, departments: list[str]) -> Q:
    """_visible_q and the parent's code range on the code at ``path``."""
    q = descendants_q(path, parent_code) if parent_code else Q()
    visible = jurisdiction.code_range_q(path)
    if visible is not None:
        q &= visible | Q(**{f"{path}__in": departments}) if departments else visible
    return q


_STORED_FIELDS = sorted(_ROW_FIELDS & {f.name for f in MonthlyScore._meta.concrete_fields})


def _previous_rank(period: Period, level: str) -> Subquery:
    return Subquery(
        MonthlyScore.objects.filter(month=period.previous().first, unit_kind=level, unit_code=OuterRef("unit_code"))
        .order_by().values("rank")[:1],
        output_field=IntegerField(),
    )


def stored_month(*, jurisdiction, period: Period, level: str, parent_code: str | None = None) -> StoredMonth | None:
    """The month's stored scores of the units scores_for would list, as a queryset.

    Steps: 1. the same checks as scores_for (unknown level, parent outside: errors);
    2. only a month, and not the city level (its units are not a table of their own);
    3. count the visible units (one query), then the stored rows in their scope — all of
    them, and those of an existing unit (one aggregate); unless both equal the units,
    None, and the caller reads scores_for, which fills the gaps: a unit created since
    the month was computed, a month never computed, the row of a unit since deleted;
    4. the rows, selected by the scope's code prefixes alone (no join with the unit
    table: step 3 showed they are exactly the units'), with the previous month's rank
    and the change (positive = moved up) as SQL expressions, so that a caller can sort
    by them. No row is loaded here (stored_rows loads a page of them).
    """
    parent_code = _checked_parent(jurisdiction=jurisdiction, level=level, parent_code=parent_code)
    if period.kind != "month" or level == UnitKind.CITY:
        return None
    departments = _department_codes(jurisdiction)
    units = _MODELS[level].objects.filter(_scope_q(jurisdiction, "code", parent_code, departments))
    total = units.count()
    if not total:
        return None
    scores = MonthlyScore.objects.filter(
        _scope_q(jurisdiction, "unit_code", parent_code, departments), month=period.first, unit_kind=level,
    )
    stats = scores.aggregate(
        n=Count("pk"), of_units=Count("pk", filter=Q(unit_code__in=units.values("code"))),
        provisional=Count("pk", filter=Q(final=False)), as_of=Max("as_of"),
    )
    if stats["n"] != total or stats["of_units"] != total:
        return None
    rows = scores.annotate(previous_rank=_previous_rank(period, level)).annotate(
        rank_change=ExpressionWrapper(F("previous_rank") - F("rank"), output_field=IntegerField())
    )
    final, as_of = not stats["provisional"], stats["as_of"]
    scope = (jurisdiction.everything, sorted(jurisdiction.prefixes), sorted(departments))
    key = repr((period.label, level, parent_code, scope, total, final, as_of and as_of.isoformat()))
    return StoredMonth(rows=rows, total=total, final=final, as_of=as_of, period=period, level=level, key=key)


def stored_rows(stored: StoredMonth, ids: list[int]) -> list[ScoreRow]:
    """The ScoreRows of these rows of ``stored`` (ids from its queryset), in that order:
    one query by primary key, with the previous month's rank and the change computed as
    scores_for computes them."""
    scores = MonthlyScore.objects.filter(pk__in=ids).order_by().annotate(
        previous_rank=_previous_rank(stored.period, stored.level)
    ).values("pk", "previous_rank", *_STORED_FIELDS)  # plain values: a third less time than instances
    found = {score.pop("pk"): score for score in scores}
    rows = []
    for pk in ids:
        row = _row(found[pk])
        if row.rank is not None and row.previous_rank is not None:
            row.rank_change = row.previous_rank - row.rank
        rows.append(row)
    return rows


def scores_token() -> str | None:
    """The token of the stored scores in the shared cache (Redis in production), made if
    missing (a cleared cache counts as a change); None if the cache is down. compute_month
    writes a new one once its rows are committed (services._publish_scores)."""
    return shared_cache.token(SCORES_TOKEN_KEY, what="scores")
