"""One report table = columns + rows of plain values, so that the page, the CSV, the
XLSX and the API show exactly the same figures: each renders the same ReportTable,
formatting a value by its column's kind (``display``)."""

import html
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.safestring import SafeString, mark_safe

DASH = "—"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # text | code (kept as text in XLSX) | int | rate (percent, 2 decimals) | hours | rank | change
    kind: str = "text"
    sortable: bool = False
    # The first click on a sortable header sorts descending (a lower-is-better measure:
    # the worst first); otherwise ascending (a rate: the worst first).
    first_desc: bool = False
    # What an empty cell shows (page, CSV, XLSX); the API keeps null.
    empty: str = ""


@dataclass
class ReportTable:
    key: str  # a stable name: file names and the API
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    # Per row, links shown on the page only (not data): {column key: url}.
    links: list[dict] = field(default_factory=list)
    total: int | None = None  # rows before paging, when the page shows a slice
    html: list[SafeString] | None = None  # html_rows, when already printed (a cached page)

    def display_rows(self) -> list[list[tuple[str, str, str]]]:
        """Per row, (text, link, kind) for each column, as the page prints them."""
        out = []
        for index, row in enumerate(self.rows):
            links = self.links[index] if index < len(self.links) else {}
            out.append([(display(c, row.get(c.key)), links.get(c.key, ""), c.kind) for c in self.columns])
        return out

    def html_rows(self) -> list[SafeString]:
        """Per row, its <td> cells as _table.html printed them from display_rows: the
        kind as the class (a rank change also up/down), a link around the text when the
        column has one, escaped as the template escapes. Built here rather than by
        template tags per cell: 100 units × 21 columns took 57 ms through the template,
        6 ms here (on the loaded bench machine)."""
        if self.html is not None:
            return self.html
        columns = [(c, f"k-{_escape(c.kind)}") for c in self.columns]
        out = []
        for index, row in enumerate(self.rows):
            links = self.links[index] if index < len(self.links) else {}
            cells = []
            for column, css in columns:
                text = display(column, row.get(column.key))
                if column.kind == "change" and text[:1] in ("↑", "↓"):
                    css = f"{css} up" if text[:1] == "↑" else f"{css} down"
                link = links.get(column.key)
                body = f'<a href="{_escape(link)}">{_escape(text)}</a>' if link else _escape(text)
                cells.append(f'<td class="{css}">{body}</td>')
            out.append(mark_safe("".join(cells)))
        return out


def _escape(value) -> str:
    """django.utils.html.conditional_escape without its lazy-string wrapper (the same text)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


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
