"""Keyset pagination and capped counts: lists that cost what they show, however deep.

An OFFSET page reads every row before it, and a COUNT reads the whole scope: page 10,000
of a city's appeals read 300,000 rows to show 30. A keyset page starts where the previous
one ended — ``WHERE (deadline, id) > (last deadline, last id) ORDER BY deadline, id LIMIT
n`` — and reads, through an index on (column, id), only the rows it shows. Django's
Paginator is offset-based, and DRF's CursorPagination positions on the first ordering
field alone, so thousands of appeals with the same working-day deadline (all at 00:00)
would be skipped or repeated.

- ``Sort``: one offered order, on one column and the id, both in the same direction (one
  index on (column, id) serves it forwards and backwards). A nullable column sorts its
  nulls as the greatest value: last ascending, first descending, as PostgreSQL's index
  scan gives them. The nulls are read as their own segment (ordered by id), so a page
  that crosses from the values to the nulls takes two index range reads, never a scan.
- ``keyset_page``: one page after or before a cursor, with the cursors of the pages
  beside it.
- The cursor is opaque and signed (django.core.signing): it holds the sort, the row's
  value and id, and the direction. A cursor that was changed, or made for another sort,
  is a 400 (BadCursor), never a 500 or a silent first page.
- ``capped_count``: a count that stops at COUNT_CAP + 1 rows (``count`` of a sliced
  subquery, ``LIMIT 10001``); ``count_text`` shows a count above COUNT_CAP as "1万+".
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.core import signing
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connections
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils.translation import gettext as _

from governance.kernel.errors import ApplicationError

COUNT_CAP = 10_000
CURSOR_MAX_LENGTH = 300
_SALT = "governance.kernel.keyset"


class BadCursor(ApplicationError):
    """A cursor that was not made here, was changed, or belongs to another sort: 400."""

    code = "bad_cursor"


@dataclass(frozen=True)
class Sort:
    """An offered order: ``key`` is its public name ("deadline", "-created_at"), ``label``
    what a page calls it. Ties on the column are broken by the id, in the same direction."""

    key: str
    column: str
    descending: bool = False
    nullable: bool = False
    label: str = ""

    def order_by(self) -> tuple:
        sign = "-" if self.descending else ""
        if self.nullable:
            # Nulls the greatest, said out loud: PostgreSQL's default (its index serves it
            # either way), not SQLite's (nulls the least), whose first page would otherwise
            # start with the rows the cursors put last.
            column = F(self.column)
            first = column.desc(nulls_first=True) if self.descending else column.asc(nulls_last=True)
            return (first, f"{sign}id")
        return (f"{sign}{self.column}", f"{sign}id")


@dataclass(frozen=True)
class KeysetPage:
    rows: list
    next_cursor: str | None  # None: this is the last page
    previous_cursor: str | None  # None: this is the first page


def _encode(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _decode(qs: QuerySet, sort: Sort, value):
    if value is None:
        return None
    field = qs.model._meta.get_field(sort.column)
    return field.to_python(value)


def make_cursor(sort: Sort, row, *, forward: bool) -> str:
    """The cursor of the page after (``forward``) or before ``row`` in ``sort``."""
    payload = [sort.key, _encode(getattr(row, sort.column)), row.pk, "n" if forward else "p"]
    return signing.dumps(payload, salt=_SALT, compress=True)


def _bad_cursor() -> BadCursor:
    return BadCursor(_("翻页参数 cursor 无效（已被改动，或属于另一种排序）：请从第一页重新开始，"
                       "并原样使用上一次返回的 next / previous 链接。"))


def read_cursor(qs: QuerySet, sort: Sort, cursor: str) -> tuple[object, int, bool]:
    """(value, id, forward) from a cursor made by make_cursor for ``sort``, or BadCursor."""
    if len(cursor) > CURSOR_MAX_LENGTH:
        raise _bad_cursor()
    try:
        key, value, pk, direction = signing.loads(cursor, salt=_SALT)
        if key != sort.key or direction not in ("n", "p") or not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError(key)
        if value is None and not sort.nullable:
            raise ValueError(value)
        return _decode(qs, sort, value), pk, direction == "n"
    except (signing.BadSignature, ValueError, TypeError, ArithmeticError, ValidationError) as exc:
        # ValidationError: the column's to_python refusing the value (a cursor of an older
        # release, say), never a 500.
        raise _bad_cursor() from exc


def _after(qs: QuerySet, sort: Sort, position, limit: int) -> list:
    """Up to ``limit`` rows after ``position`` ((value, id), None: from the start) in the
    column's ascending order, nulls last."""
    rows: list = []
    value, pk = position if position is not None else (None, None)
    column = sort.column
    if position is None or value is not None or not sort.nullable:
        q = qs.filter(**{f"{column}__isnull": False}) if sort.nullable else qs
        if position is not None:
            q = q.filter(TupleGreaterThan(Tuple(F(column), F("pk")), (value, pk)))
        rows = list(q.order_by(column, "pk")[:limit])
    if sort.nullable and len(rows) < limit:
        q = qs.filter(**{f"{column}__isnull": True})
        if position is not None and value is None:
            q = q.filter(pk__gt=pk)
        rows += list(q.order_by("pk")[: limit - len(rows)])
    return rows


def _before(qs: QuerySet, sort: Sort, position, limit: int) -> list:
    """Up to ``limit`` rows before ``position`` (None: from the end) in the column's
    ascending order, nearest first (descending), nulls counted as the greatest."""
    rows: list = []
    value, pk = position if position is not None else (None, None)
    column = sort.column
    if sort.nullable and (position is None or value is None):
        q = qs.filter(**{f"{column}__isnull": True})
        if position is not None:
            q = q.filter(pk__lt=pk)
        rows = list(q.order_by("-pk")[:limit])
    if len(rows) < limit:
        q = qs.filter(**{f"{column}__isnull": False}) if sort.nullable else qs
        if position is not None and value is not None:
            q = q.filter(TupleLessThan(Tuple(F(column), F("pk")), (value, pk)))
        rows += list(q.order_by(f"-{column}", "-pk")[: limit - len(rows)])
    return rows


def keyset_page(qs: QuerySet, *, sort: Sort, size: int, cursor: str | None = None) -> KeysetPage:
    """One page of ``qs`` in ``sort``: the first (no cursor), or the one a cursor points
    to. Reads at most size + 1 rows (two index ranges where the nulls begin)."""
    position, forward = None, True
    if cursor:
        value, pk, forward = read_cursor(qs, sort, cursor)
        position = (value, pk)
    if position is None:
        # The first page: one ordered read (the index's own order puts the nulls where the
        # keyset does); only a position inside the list needs the two ranges.
        rows = list(ordered(qs, sort)[: size + 1])
    else:
        qs = qs.order_by()
        # Along the display order: ascending sorts move up the column, descending ones down.
        up = forward != sort.descending
        rows = _after(qs, sort, position, size + 1) if up else _before(qs, sort, position, size + 1)
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    if not rows:
        return KeysetPage(rows=[], next_cursor=None, previous_cursor=None)
    # Going forward, a page after a cursor has one before it; going back, one after it.
    has_next = more if forward else position is not None
    has_previous = position is not None if forward else more
    return KeysetPage(
        rows=rows,
        next_cursor=make_cursor(sort, rows[-1], forward=True) if has_next else None,
        previous_cursor=make_cursor(sort, rows[0], forward=False) if has_previous else None,
    )


def ordered(qs: QuerySet, sort: Sort) -> QuerySet:
    """``qs`` in ``sort``'s order in one query (for an OFFSET page of the first few):
    PostgreSQL puts nulls last ascending and first descending, as the keyset does."""
    return qs.order_by(*sort.order_by())


# --- capped counts ---------------------------------------------------------------------------------


def capped_count(qs: QuerySet, *, cap: int | None = None) -> int:
    """How many rows ``qs`` has, reading at most cap + 1 of them (default COUNT_CAP): the
    exact count up to ``cap``, cap + 1 for "more than ``cap``" (count_text: "1万+")."""
    cap = COUNT_CAP if cap is None else cap
    return qs.order_by().values("pk")[: cap + 1].count()


def capped_counts(parts: dict[str, QuerySet], *, cap: int | None = None) -> dict[str, int]:
    """capped_count of each queryset, in one query (a UNION ALL of sliced counts)."""
    if not parts:
        return {}
    cap = COUNT_CAP if cap is None else cap
    pieces, params = [], []
    for i, qs in enumerate(parts.values()):
        try:
            sql, part_params = qs.order_by().values("pk")[: cap + 1].query.sql_with_params()
        except EmptyResultSet:  # a filter that matches nothing (pk__in=[]): no query
            continue
        # Each row carries its part's position: UNION ALL alone does not fix their order.
        pieces.append(f"SELECT {i} AS n, COUNT(*) AS c FROM ({sql}) AS part")
        params.extend(part_params)
    found = {}
    if pieces:
        with connections[next(iter(parts.values())).db].cursor() as cursor:
            cursor.execute(" UNION ALL ".join(pieces), params)
            found = dict(cursor.fetchall())
    return {key: found.get(i, 0) for i, key in enumerate(parts)}


def is_capped(n: int) -> bool:
    """Whether a capped count stands for "more than COUNT_CAP"."""
    return n > COUNT_CAP


def count_text(n: int) -> str:
    """A count as pages show it: the number, or "1万+" above the cap."""
    cap = COUNT_CAP
    if n > cap:
        return _("%(n)s万+") % {"n": cap // 10_000} if cap % 10_000 == 0 else f"{cap}+"
    return str(n)
