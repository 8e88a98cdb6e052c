"""CSV and XLSX of a ReportTable: the page's columns and cells (every column, whatever the
page's column chooser hides).

CSV: UTF-8 with a BOM (Excel then opens it as UTF-8), the cells exactly as the page
prints them, streamed row by row. XLSX: openpyxl in write-only mode (constant memory);
codes are text cells (Excel would drop a 15-digit grid code's digits), counts and rates
are numbers with the page's decimals as the number format. Neither carries a formula
(governance.kernel.spreadsheets): text is a string cell in XLSX, and CSV text that a
spreadsheet would run (= + - @, a tab or a carriage return first) gets a leading '.
"""

import csv
import tempfile
from collections.abc import Iterator
from decimal import Decimal

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.kernel.replica import carried
from governance.kernel.spreadsheets import csv_row, xlsx_cell
from governance.reports.tables import Column, ReportTable, cell_text, display

BOM = "\ufeff"


class _Echo:
    def write(self, value):
        return value


def csv_lines(tables: list[ReportTable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM
    for index, table in enumerate(tables):
        if len(tables) > 1:
            if index:
                yield writer.writerow([])
            yield writer.writerow(csv_row([table.title]))
        yield writer.writerow(csv_row([c.label for c in table.columns]))
        for row in table.rows:
            yield writer.writerow(csv_row([cell_text(c, row) for c in table.columns]))


def _xlsx_value(column: Column, row: dict):
    if column.kind == "rank":
        return cell_text(column, row)
    value = row.get(column.key)
    if value is None or value == "":
        return column.empty or None
    if column.kind in ("int", "rate", "hours"):
        return float(value) if isinstance(value, Decimal | float) else value
    return display(column, value)


_FORMATS = {"rate": "0.00", "hours": "0.0", "int": "0"}


def _text_width(text: str) -> int:
    """Columns of a fixed-width font: a Chinese character takes two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def column_widths(table: ReportTable) -> list[float]:
    """Each column as wide as its header or its widest cell (as printed), within 6..40."""
    widths = []
    for column in table.columns:
        longest = max([_text_width(str(column.label)), *(_text_width(cell_text(column, r)) for r in table.rows)])
        widths.append(min(max(longest + 2, 6), 40))
    return widths


def title_line(table: ReportTable, heading: str = "") -> str:
    """The sheet's first row: what it is (the unit and the period, ``heading``) and how
    fresh: the scores' 数据截至 where the table has one, else the time of the export."""
    as_of = getattr(table, "as_of", None) or timezone.now()
    parts = [heading or str(table.title), f"{_('数据截至')} {timezone.localtime(as_of):%Y-%m-%d %H:%M}"]
    return " · ".join(p for p in parts if p)


def write_xlsx(tables: list[ReportTable], out, *, heading: str = "") -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(title=table.title[:31].replace("/", "-"))
        for index, width in enumerate(column_widths(table), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A3"
        sheet.append([xlsx_cell(sheet, title_line(table, heading), font=Font(bold=True, size=13))])
        sheet.append([xlsx_cell(sheet, str(column.label), font=bold) for column in table.columns])
        for row in table.rows:
            cells = []
            for column in table.columns:
                value = _xlsx_value(column, row)
                number_format = None
                if column.kind == "code":
                    number_format = "@"  # text: Excel keeps every digit
                elif column.kind in _FORMATS and value is not None:
                    number_format = _FORMATS[column.kind]
                cells.append(xlsx_cell(sheet, value, number_format=number_format))
            sheet.append(cells)
    workbook.save(out)


def filename(stem: str, ext: str) -> str:
    return f"{stem}-{timezone.localtime():%Y%m%d%H%M}.{ext}"


def export_response(tables: list[ReportTable], *, kind: str, stem: str, heading: str = ""):
    """A download of the tables: ``kind`` csv (streamed) or xlsx (a spooled temp file,
    so a large workbook does not sit in memory; its first row: ``heading`` — the unit and
    the period — and 数据截至)."""
    if kind == "csv":
        # Streamed after the view returned: its rows are read where the view read them.
        response = StreamingHttpResponse(carried(csv_lines(tables)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename(stem, "csv")}"'
        return response
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    write_xlsx(tables, out, heading=heading)
    out.seek(0)
    return FileResponse(
        out, as_attachment=True, filename=filename(stem, "xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
