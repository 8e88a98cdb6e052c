"""The unit tables (考核排名): the units of a level with the measures of DESIGN.md §5.

A page of a month's table stored for every unit is sorted and cut in SQL and kept in the
shared cache until the scores are computed again; exports and the API read every row.
"""

import hashlib
from urllib.parse import quote

from django.db import connection
from django.db.models import Case, F, Value, When
from django.db.models.functions import Collate, NullIf
from django.urls import get_script_prefix, reverse
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.assessment import enums as assessment_enums
from governance.assessment.enums import UnitKind
from governance.assessment.periods import Period, period_query
from governance.assessment.selectors import (
    ScoreRow,
    StoredMonth,
    scores_for,
    scores_token,
    stored_month,
    stored_rows,
)
from governance.kernel import shared_cache
from governance.kernel.errors import ApplicationError
from governance.reports import tables
from governance.reports.tables import Column, ReportTable, sort_rows
from governance.staff.selectors import Jurisdiction
from grids.models import UNIT_MODELS, Community, District, Street

# The measures' columns: which way is better is said once, in the registry.
MEASURES = assessment_enums.MEASURES
PAGE_CACHE_SECONDS = 6 * 3600  # a page stays right as long as the scores' token: this only bounds the space


# Who a unit is ranked against (formulas.peer_group), as its rank reads: "街道内 3/3".
# The city is not ranked.
RANK_WITHIN = {
    UnitKind.GRID: gettext_lazy("社区内"), UnitKind.COMMUNITY: gettext_lazy("街道内"),
    UnitKind.STREET: gettext_lazy("区内"), UnitKind.DISTRICT: gettext_lazy("全市"),
    UnitKind.DEPARTMENT: gettext_lazy("全市"),
}
# The parent units named beside a unit (its place in the city): level → (key, label, code length).
PARENTS = {
    UnitKind.STREET: [("district_name", gettext_lazy("区"), 6)],
    UnitKind.COMMUNITY: [("street_name", gettext_lazy("街道"), 9)],
    UnitKind.GRID: [("street_name", gettext_lazy("街道"), 9), ("community_name", gettext_lazy("社区"), 12)],
}
_PARENT_MODELS = {6: District, 9: Street, 12: Community}
# Shown on the page when chosen (the column chooser): the table then fits 1,366 px.
_OPTIONAL_MEASURES = {"kept_in_grid_rate", "kept_in_community_rate", "self_kept_in_grid_rate"}


def unit_columns(level: str | None = None) -> list[Column]:
    """The unit table's columns; ``level`` adds its parents' names (街道, 社区 for grids)
    and, for streets, the city rank (the one level ranked in the city too)."""
    parents = [Column(key, str(label), "text") for key, label, _n in PARENTS.get(level, [])]
    city_rank = [Column("city_rank", _("全市排名"), "rank")] if level == UnitKind.STREET else []
    return [
        Column("rank", _("排名"), "rank", sortable=True),
        Column("peer_count", _("参与排名数"), "int", optional=True),
        Column("rank_change", _("名次变化"), "change", sortable=True),
        Column("unit_name", _("单位"), "text", sortable=True),
        Column("unit_code", _("编码"), "code", sortable=True, optional=True),
        *parents,
        *city_rank,
        # The first click on a measure's header lists the worst first.
        *[Column(m.key, str(m.label), "rate", sortable=True, first_desc=m.lower_is_better,
                 optional=m.key in _OPTIONAL_MEASURES) for m in MEASURES],
        Column("dispatched", _("派单数"), "int", sortable=True, optional=True),
        Column("due", _("应办结"), "int", sortable=True),
        Column("deferred", _("缓办"), "int", sortable=True, optional=True),
        Column("resolved", _("办结"), "int", sortable=True),
        Column("resolved_on_time", _("按期办结"), "int", sortable=True, optional=True),
        Column("evaluated", _("参评"), "int", sortable=True, optional=True),
        Column("reworked", _("返工"), "int", sortable=True, optional=True),
        Column("excluded", _("核减"), "int", sortable=True, optional=True),
        # 主动发现 (巡查, 走访), shown apart: how many were found at the unit's places, and resolved.
        Column("self_found", _("主动发现"), "int", sortable=True),
        Column("self_found_resolved", _("主动发现办结"), "int", sortable=True, optional=True),
        Column("avg_response_hours", _("平均响应(小时)"), "hours", sortable=True, optional=True),
        Column("avg_resolution_hours", _("平均办结(小时)"), "hours", sortable=True, optional=True),
    ]


def _hours(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def score_dict(row: ScoreRow, keys: list[str] | None = None) -> dict:
    """A ScoreRow as the table's plain values. ``keys``: the columns' keys, computed once
    per table (building the translated columns per row cost 0.3 ms × 3,000 communities)."""
    values = {key: getattr(row, key, None) for key in (keys or [c.key for c in unit_columns()])}
    values["peer_count"] = row.peer_count if row.rank is not None else None
    values["avg_response_hours"] = _hours(row.avg_response_seconds)
    values["avg_resolution_hours"] = _hours(row.avg_resolution_seconds)
    values["unit_kind"] = row.unit_kind
    values["previous_rank"] = row.previous_rank
    if row.rank is not None and row.unit_kind in RANK_WITHIN:  # the city has no peers
        values["rank_text"] = f"{RANK_WITHIN[row.unit_kind]} {row.rank}/{row.peer_count}"
    if row.city_rank is not None:
        values["city_rank"] = row.city_rank
        values["city_rank_text"] = f"{_('全市')} {row.city_rank}/{row.city_peer_count}"
    return values


def add_parents(rows: list[dict], level: str) -> None:
    """Name each row's parent units (``street_name``, ``community_name``…, PARENTS) — one
    query per parent level — and give grid rows a label that names their community
    (``unit_label``: 团结西社区第一网格), for the charts."""
    for key, _label, length in PARENTS.get(level, []):
        codes = {r["unit_code"][:length] for r in rows}
        names = dict(_PARENT_MODELS[length].objects.filter(code__in=codes).values_list("code", "name"))
        for row in rows:
            row[key] = names.get(row["unit_code"][:length], "")
    for row in rows:
        row["unit_label"] = f"{row.get('community_name', '')}{row['unit_name']}" if level == UnitKind.GRID \
            else row["unit_name"]


def parse_sort(value: str | None, *, default: str = "composite") -> tuple[str, bool]:
    """``composite`` ascending (the worst first), ``-composite`` descending."""
    value = (value or default).strip()
    descending = value.startswith("-")
    key = value.lstrip("-")
    if key not in {c.key for c in unit_columns() if c.sortable}:
        raise ApplicationError(_("无法按“%(key)s”排序。") % {"key": key})
    return key, descending


def unit_url(kind: str, code: str, period: Period) -> str:
    return f"{reverse('reports:unit', args=[kind, code])}?{period_query(period)}"


def unit_table(
    *, jurisdiction: Jurisdiction, period: Period, level: str, parent_code: str | None = None,
    sort: str | None = None, page: int | None = None,
) -> ReportTable:
    """The units of ``level`` (under ``parent_code``) inside the jurisdiction, with the
    measures of DESIGN.md §5, counts, average times, rank and its change; sorted by
    ``sort`` (default: 综合得分 ascending, the worst first; empty values last).
    ``page`` (1-based) cuts a page of PAGE_SIZE rows; None: every row (exports, API).

    A page of a month stored for every unit is sorted and cut in SQL, and kept in the
    shared cache until the scores are computed again (_stored_page): its cost does not
    grow with the number of units (3,000 communities for a city supervisor). Otherwise,
    and for every row, the whole table is built and sorted here; both give the same rows
    in the same order (tests/reports/test_paging.py)."""
    key, descending = parse_sort(sort)
    table = ReportTable(
        key=f"units-{level}", title=_("%(level)s考核排名") % {"level": UnitKind(level).label},
        columns=unit_columns(level),
    )
    stored = None
    if page is not None:
        stored = stored_month(jurisdiction=jurisdiction, period=period, level=level, parent_code=parent_code)
    if stored is not None:
        table.total, table.final, table.as_of = stored.total, stored.final, stored.as_of  # type: ignore[attr-defined]
        _stored_page(table, stored, key=key, descending=descending, page=page, period=period)
        return table
    cache_key = None
    if page is not None:
        # A quarter or a range is summed from the daily tallies and ranked for every unit
        # of the level (30,000 grids): its page is kept, like a stored month's, until the
        # scores are computed again — the tallies change only then.
        # The number of units too: a unit created since is listed at once (one count).
        units = 1 if level == UnitKind.CITY else UNIT_MODELS[level].objects.count()
        cache_key = _page_cache_key("summed", jurisdiction.everything, sorted(jurisdiction.prefixes),
                                    sorted(jurisdiction.department_ids), period.label, level, parent_code, key,
                                    descending, page, units)
        found = shared_cache.get(cache_key, what="reports") if cache_key else None
        if found is not None:
            table.rows, table.links, table.total, table.final, table.as_of = found  # type: ignore[attr-defined]
            table.cache_key = cache_key
            return table
    scores = scores_for(jurisdiction=jurisdiction, period=period, level=level, parent_code=parent_code)
    keys = [c.key for c in table.columns]
    rows = sort_rows([score_dict(r, keys) for r in scores.rows], key=key, descending=descending)
    table.total = len(rows)
    if page is not None:
        start = (max(page, 1) - 1) * tables.PAGE_SIZE
        rows = rows[start:start + tables.PAGE_SIZE]
    add_parents(rows, level)
    table.rows = rows
    table.final, table.as_of = scores.final, scores.as_of  # type: ignore[attr-defined]
    table.links = _unit_links(level, [r["unit_code"] for r in table.rows], period)
    if cache_key:
        table.cache_key = cache_key
        shared_cache.put(cache_key, (table.rows, table.links, table.total, table.final, table.as_of),
                         PAGE_CACHE_SECONDS, what="reports")
    return table


def _page_cache_key(*parts) -> str | None:
    """A cache key for a page built from the stored scores: the scores' token (renewed by
    compute_month), the database (the benchmark's tiers may share a cache), the URL
    prefix and ``parts``; None when the cache is down (the page is built every time)."""
    token = scores_token()
    if token is None:
        return None
    name = repr(("v2", token, connection.settings_dict["NAME"], tables.PAGE_SIZE, get_script_prefix(), *parts))
    return f"reports:units-page:{hashlib.sha256(name.encode()).hexdigest()}"


def _unit_links(level: str, codes: list[str], period: Period) -> list[dict]:
    """{"unit_name": unit_url(level, code, period)} for each code, resolving the URL
    pattern once (a reverse() per row was ~5 ms of a 100-row page); the code is quoted
    as reverse() quotes it."""
    head = reverse("reports:unit", args=[level, "0"]).removesuffix("0/")
    query = period_query(period)
    return [{"unit_name": f"{head}{quote(code, safe=RFC3986_SUBDELIMS + '/~:@')}/?{query}"} for code in codes]


# Sorting stored rows in SQL exactly as sort_rows sorts score_dict's values: text by code
# point (Python's str order; PostgreSQL's "C" collation, SQLite's BINARY), an empty name
# as a missing value. The hours columns are rounded in Python (round(seconds / 3600, 1),
# binary floating point) in a way SQL cannot reproduce for ties, so they are sorted in
# Python from the (code, seconds, rank) of every row — three small columns, not rows.
_HOURS_SOURCE = {"avg_response_hours": "avg_response_seconds", "avg_resolution_hours": "avg_resolution_seconds"}


def _codepoint(expression):
    return Collate(expression, "C" if connection.vendor == "postgresql" else "BINARY")


def _sort_value(key: str):
    if key == "unit_name":
        return _codepoint(NullIf(F("unit_name"), Value("")))
    if key == "unit_code":
        return _codepoint(F("unit_code"))
    return F(key)  # numbers, and rank_change (annotated by stored_month)


def _stored_order(key: str, descending: bool) -> list:
    """ORDER BY for sort_rows' order: values in the direction asked, ties by code in the
    same direction; then the rows without a value, in scores_for's order (ranked before
    unranked, by rank, then by code)."""
    value, code = F("sort_value"), _codepoint(F("unit_code"))
    return [
        value.desc(nulls_last=True) if descending else value.asc(nulls_last=True),
        Case(When(sort_value__isnull=True, then=F("rank"))).asc(nulls_last=True),
        Case(When(sort_value__isnull=True, then=code)).asc(),
        code.desc() if descending else code.asc(),
    ]


def _stored_page(table: ReportTable, stored: StoredMonth, *, key: str, descending: bool, page: int,
                 period: Period) -> None:
    """Fill ``table`` with one page of the stored month sorted by ``key``: its rows and
    links, kept in the shared cache (Redis in production) under the scores' token, which
    compute_month renews — the same page for the same scope is built once per computation
    of the scores (and printed once: presenters.table_html keeps its cells beside it).
    Without a cache, built every time."""
    cache_key = None
    token = scores_token()
    if token is not None:
        # The database too: two databases (the benchmark's tiers) may share a cache.
        name = repr(("v2", token, connection.settings_dict["NAME"], stored.key, key, descending, page, tables.PAGE_SIZE,
                     get_script_prefix()))
        cache_key = f"reports:units-page:{hashlib.sha256(name.encode()).hexdigest()}"
        table.cache_key = cache_key
        found = shared_cache.get(cache_key, what="reports")
        if found is not None:
            table.rows, table.links = found
            return
    table.rows = _stored_page_rows(stored, key=key, descending=descending, page=page)
    add_parents(table.rows, stored.level)
    table.links = _unit_links(stored.level, [r["unit_code"] for r in table.rows], period)
    if cache_key is not None:
        shared_cache.put(cache_key, (table.rows, table.links), PAGE_CACHE_SECONDS, what="reports")


def _stored_page_rows(stored: StoredMonth, *, key: str, descending: bool, page: int) -> list[dict]:
    """One page of the stored month sorted by ``key``, in two queries: the page's ids in
    order (PostgreSQL sorts ids, not rows of 45 columns), then those rows by id."""
    start = (max(page, 1) - 1) * tables.PAGE_SIZE
    if key in _HOURS_SOURCE:
        ordered = sorted(stored.rows.values_list("pk", "unit_code", _HOURS_SOURCE[key], "rank"),
                         key=lambda r: (r[3] is None, r[3] or 0, r[1]))
        values = sort_rows([{"pk": pk, "unit_code": code, key: _hours(seconds)} for pk, code, seconds, _r in ordered],
                           key=key, descending=descending)
        ids = [r["pk"] for r in values[start:start + tables.PAGE_SIZE]]
    else:
        ordered = stored.rows.annotate(sort_value=_sort_value(key)).order_by(*_stored_order(key, descending))
        ids = list(ordered.values_list("pk", flat=True)[start:start + tables.PAGE_SIZE])
    keys = [c.key for c in unit_columns()]
    return [score_dict(row, keys) for row in stored_rows(stored, ids)]
