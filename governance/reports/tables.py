"""One report table = columns + rows of plain values, so that the page, the CSV, the
XLSX and the API show exactly the same figures: each renders the same ReportTable,
formatting a value by its column's kind (``display``)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.db.models import Value

from appeals.models import handling_unit_text, place_text
from governance.assessment.enums import UnitKind
from grids.models import Community, Grid, Street

DASH = "—"
# Territorial levels top-down, and what a unit page drills into.
LEVELS = [UnitKind.CITY, UnitKind.DISTRICT, UnitKind.STREET, UnitKind.COMMUNITY, UnitKind.GRID]
CHILD = {
    UnitKind.CITY: UnitKind.DISTRICT, UnitKind.DISTRICT: UnitKind.STREET,
    UnitKind.STREET: UnitKind.COMMUNITY, UnitKind.COMMUNITY: UnitKind.GRID,
}
PAGE_SIZE = 100
LIST_LIMIT = 50  # problem appeals, hot spots: the worst/most frequent first


def place_texts(appeals: list) -> Callable:
    """``where(appeal)``: (place, handler) of each of ``appeals`` (read with PLACE_RELATED)
    in words — ``Appeal.place_name`` and ``handling_unit_name``, by the same place_text and
    handling_unit_text — the names of their streets, communities and grids read in one
    query (the three tables' rows united), the handling grids' communities with them."""
    codes = {model: set() for model in (Street, Community, Grid)}
    for a in appeals:
        codes[Street].update((a.street_id, a.handling_street_id))
        codes[Community].update((a.community_id, a.handling_community_id))
        codes[Grid].update((a.grid_id, a.handling_grid_id))
    arms = [
        model.objects.filter(code__in=found - {None}).order_by()
        .values_list("code", "name", "community__name" if model is Grid else Value(""))
        for model, found in codes.items() if found - {None}
    ]
    # A code's length says its level (9, 12 and 15 digits): one dict holds the three.
    names, parents = {}, {}
    if arms:
        for code, name, parent in arms[0].union(*arms[1:], all=True):
            names[code], parents[code] = name, parent

    def where(appeal) -> tuple[str, str]:
        community, grid, street = (names.get(appeal.community_id, ""), names.get(appeal.grid_id, ""),
                                   names.get(appeal.street_id, ""))
        department = appeal.handling_department.name if appeal.handling_department_id else ""
        return place_text(community_name=community, grid_name=grid, street_name=street), handling_unit_text(
            level=appeal.handling_level,
            unit_name=(names.get(appeal.handling_grid_id) or names.get(appeal.handling_community_id)
                       or names.get(appeal.handling_street_id) or department),
            grid_community_name=parents.get(appeal.handling_grid_id, ""), queue_level=appeal.queue_level,
            community_name=community, street_name=street)

    return where


# What a row of an appeal list (problems, 督办) joins: its category and handling department.
# Its places and handling units are named by place_texts, not joined: a list query joining
# the nine tables took PostgreSQL 20–30 ms to plan, each request, for a few ms of reading.
PLACE_RELATED = ("category", "handling_department")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # text | code (kept as text in XLSX) | int | rate (percent, 2 decimals) | hours | change
    # | rank (a number, printed with its peer group: cell_text)
    kind: str = "text"
    sortable: bool = False
    # The first click on a sortable header sorts descending (a lower-is-better measure:
    # the worst first); otherwise ascending (a rate: the worst first).
    first_desc: bool = False
    # What an empty cell shows (page, CSV, XLSX); the API keeps null.
    empty: str = ""
    # Hidden on the page until chosen (its column chooser, static/js/reports.js); exports
    # and the API always carry it.
    optional: bool = False


@dataclass
class ReportTable:
    key: str  # a stable name: file names and the API
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    # Per row, links shown on the page only (not data): {column key: url}.
    links: list[dict] = field(default_factory=list)
    total: int | None = None  # rows before paging, when the page shows a slice
    # Where a page of it is kept in the shared cache (its printed cells too: presenters).
    cache_key: str | None = None

    @property
    def has_optional(self) -> bool:
        """Some columns wait to be chosen: the page offers its column chooser."""
        return any(c.optional for c in self.columns)

    def display_rows(self) -> list[list[tuple[str, str, str, str]]]:
        """Per row, (text, link, kind, key) for each column, as the page prints them."""
        out = []
        for index, row in enumerate(self.rows):
            links = self.links[index] if index < len(self.links) else {}
            out.append([(cell_text(c, row), links.get(c.key, ""), c.kind, c.key) for c in self.columns])
        return out


def cell_text(column: Column, row: dict) -> str:
    """The text of ``row``'s cell in ``column`` (page, CSV and XLSX): a rank reads with its
    peer group, "街道内 3/3" (the row's ``<key>_text``); every other kind by ``display``."""
    if column.kind == "rank":
        return row.get(f"{column.key}_text") or column.empty or DASH
    return display(column, row.get(column.key))


def row_printer(columns: list[Column]) -> Callable[[dict], list[str]]:
    """``cell_text`` of each column of a row, the rule of each column picked once, not per
    cell: the streamed exports print hundreds of thousands of rows (tests compare the two)."""
    def pick(column: Column) -> Callable[[dict], str]:
        if column.kind in ("text", "code", "int"):  # display(): the value as text, or the empty text
            key, empty = column.key, column.empty or DASH
            return lambda row: empty if (value := row.get(key)) is None or value == "" else str(value)
        return partial(cell_text, column)

    printers = [pick(c) for c in columns]
    return lambda row: [p(row) for p in printers]


def display(column: Column, value) -> str:
    """The text a cell shows (page and CSV alike)."""
    if value is None or value == "":
        return column.empty or DASH
    if column.kind == "rate":
        return f"{Decimal(value):.2f}"
    if column.kind == "hours":
        return f"{value:.1f}"
    if column.kind == "change":
        if value > 0:
            return f"↑{value}"
        if value < 0:
            return f"↓{-value}"
        return DASH
    return str(value)


def sort_rows(rows: list[dict], *, key: str, descending: bool) -> list[dict]:
    """Sort by one column; empty values (unranked, no denominator) always last."""
    present = [r for r in rows if r.get(key) is not None and r.get(key) != ""]
    missing = [r for r in rows if r.get(key) is None or r.get(key) == ""]
    present.sort(key=lambda r: (r[key], r.get("unit_code", "")), reverse=descending)
    return present + missing
