"""CSV and XLSX of a ReportTable: the page's columns and cells, nothing more.

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

from governance.kernel.spreadsheets import csv_row, xlsx_cell
from governance.reports.tables import Column, ReportTable, display

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
            yield writer.writerow(csv_row([display(c, row.get(c.key)) for c in table.columns]))


def _xlsx_value(column: Column, value):
    if value is None or value == "":
        return column.empty or None
    if column.kind in ("int", "rate", "hours"):
        return float(value) if isinstance(value, Decimal | float) else value
    return display(column, value)


_FORMATS = {"rate": "0.00", "hours": "0.0", "int": "0"}


def write_xlsx(tables: list[ReportTable], out) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(title=table.title[:31].replace("/", "-"))
        sheet.append([xlsx_cell(sheet, str(column.label), font=bold) for column in table.columns])
        for row in table.rows:
            cells = []
            for column in table.columns:
                value = _xlsx_value(column, row.get(column.key))
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


def export_response(tables: list[ReportTable], *, kind: str, stem: str):
    """A download of the tables: ``kind`` csv (streamed) or xlsx (a spooled temp file,
    so a large workbook does not sit in memory)."""
    if kind == "csv":
        response = StreamingHttpResponse(csv_lines(tables), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename(stem, "csv")}"'
        return response
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    write_xlsx(tables, out)
    out.seek(0)
    return FileResponse(
        out, as_attachment=True, filename=filename(stem, "xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
