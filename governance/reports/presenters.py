"""How report data is shown: the charts' series and the tables' printed cells. The
selectors (units, unit_page, supervision, hotspots, staffing) return data; this module
and the templates shape it."""

import html
from decimal import Decimal

from django.utils.safestring import SafeString, mark_safe

from governance.assessment.enums import MEASURES
from governance.kernel import shared_cache
from governance.reports.tables import ReportTable, cell_text

HTML_CACHE_SECONDS = 6 * 3600  # as the page's rows (reports.units): bounded by the scores' token


def table_html(table: ReportTable) -> list[SafeString]:
    """Per row, its <td> cells as _table.html prints them: the column's kind as the class
    (a rank change also up/down), a link around the text when the column has one, escaped
    as the template escapes. Built here rather than by template tags per cell: 100 units ×
    21 columns took 57 ms through the template, 6 ms here (on the loaded bench machine).
    A table page kept in the shared cache (``cache_key``) keeps its printed cells beside it."""
    key = f"{table.cache_key}:html" if table.cache_key else None
    if key is not None:
        found = shared_cache.get(key, what="reports")
        if found is not None:
            return found
    columns = [(c, f"k-{_escape(c.kind)} c-{_escape(c.key)}") for c in table.columns]
    out = []
    for index, row in enumerate(table.rows):
        links = table.links[index] if index < len(table.links) else {}
        cells = []
        for column, css in columns:
            text = cell_text(column, row)
            if column.kind == "change" and text[:1] in ("↑", "↓"):
                css = f"{css} up" if text[:1] == "↑" else f"{css} down"
            link = links.get(column.key)
            body = f'<a href="{_escape(link)}">{_escape(text)}</a>' if link else _escape(text)
            cells.append(f'<td class="{css}">{body}</td>')
        out.append(mark_safe("".join(cells)))
    if key is not None:
        shared_cache.put(key, out, HTML_CACHE_SECONDS, what="reports")
    return out


def _escape(value) -> str:
    """django.utils.html.conditional_escape without its lazy-string wrapper (the same text)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def heat_data(table: ReportTable) -> dict:
    """Units × measures for the heat table chart: [x, y, colour, value] — ``colour`` on
    the measure's 0 (worst, red) to 100 (best, green) scale (a lower-is-better rate turned
    round: a high 返工率 is red), ``value`` the figure the cell shows; both null for no
    data. The rows keep the table's order (the worst first by default)."""
    units = [r.get("unit_label") or r["unit_name"] for r in table.rows]
    cells = []
    for y, row in enumerate(table.rows):
        for x, measure in enumerate(MEASURES):
            value = row.get(measure.key)
            if value is None:
                cells.append([x, y, None, None])
            else:
                cells.append([x, y, float(measure.goodness(Decimal(value))), float(value)])
    return {
        "units": units, "measures": [str(m.label) for m in MEASURES],
        "lower_is_better": [m.lower_is_better for m in MEASURES], "cells": cells,
    }


def ranking_data(table: ReportTable, *, limit: int = 30) -> dict:
    """Composite scores of the ranked rows, best last (bars read bottom-up)."""
    ranked = [r for r in table.rows if r.get("composite") is not None]
    ranked.sort(key=lambda r: r["composite"])
    ranked = ranked[:limit]
    return {"units": [r.get("unit_label") or r["unit_name"] for r in ranked], "values": [float(r["composite"]) for r in ranked]}
