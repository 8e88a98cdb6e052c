"""CSV and XLSX of the reports: the page's columns and cells (every column, whatever the
page's column chooser hides).

CSV: UTF-8 with a BOM (Excel then opens it as UTF-8), the cells exactly as the page
prints them, streamed (governance.kernel.spreadsheets.csv_stream). XLSX: written row by
row in constant memory (governance.kernel.spreadsheets.XlsxBook); codes are text cells (Excel would drop a 15-digit grid
code's digits), counts and rates are numbers with the page's decimals as the number
format. Neither carries a formula (governance.kernel.spreadsheets): text is a string cell
in XLSX, and CSV text that a spreadsheet would run (= + - @, a tab or a carriage return
first) gets a leading '.

Two kinds of source:
- a ``ReportTable`` (units, a unit's tables, hot spots, staffing, visits): bounded by the
  units it lists, computed in full for the page anyway; ``export_response``.
- a ``RowSource`` (issue 23: lists of appeals — the 督办 list): as many rows as appeals.
  ``rows_export_response`` counts up to the inline limit (bounded: LIMIT n + 1); within
  it, a CSV streams from a server-side cursor (opened inside a transaction,
  ``streaming_transaction``: in autocommit Django declares it WITH HOLD and PostgreSQL
  materialises the whole result first), an XLSX is written to a spooled file; above it, an export job writes the file
  (governance.kernel.exports) and the request answers at once with the job's page. The
  job's writer (``write_rows``) is the same code.
"""

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.kernel import exports as export_jobs
from governance.kernel.replica import carried
from governance.kernel.spreadsheets import XlsxBook, csv_stream
from governance.reports.tables import Column, ReportTable, cell_text, display, row_printer

XLSX_CONTENT_TYPE = export_jobs.CONTENT_TYPES[export_jobs.XLSX]
CSV_CONTENT_TYPE = export_jobs.CONTENT_TYPES[export_jobs.CSV]


def table_lines(tables: list[ReportTable]) -> Iterator[list | None]:
    """The CSV's lines of the tables: with several, each under its title, a blank line between."""
    for index, table in enumerate(tables):
        if len(tables) > 1:
            if index:
                yield None
            yield [table.title]
        yield [c.label for c in table.columns]
        for row in table.rows:
            yield [cell_text(c, row) for c in table.columns]


def csv_lines(tables: list[ReportTable]) -> Iterator[bytes]:
    return csv_stream(table_lines(tables))


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


def _number_format(column: Column) -> str | None:
    return "@" if column.kind == "code" else _FORMATS.get(column.kind)


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


def title_line(table, heading: str = "") -> str:
    """The sheet's first row: what it is (the unit and the period, ``heading``) and how
    fresh: the scores' 数据截至 where the table has one, else the time of the export."""
    as_of = getattr(table, "as_of", None) or timezone.now()
    parts = [heading or str(table.title), f"{_('数据截至')} {timezone.localtime(as_of):%Y-%m-%d %H:%M}"]
    return " · ".join(p for p in parts if p)


def _sheet(book: XlsxBook, title: str, columns: list[Column], *, widths: list[float], title_text: str):
    return book.sheet(title, title_line=title_text, header=[str(c.label) for c in columns], widths=widths,
                      number_formats=[_number_format(c) for c in columns])


def write_xlsx(tables: list[ReportTable], out, *, heading: str = "") -> None:
    book = XlsxBook(out)
    for table in tables:
        sheet = _sheet(book, table.title, table.columns, widths=column_widths(table),
                       title_text=title_line(table, heading))
        for row in table.rows:
            sheet.append([_xlsx_value(c, row) for c in table.columns])
    book.close()


def filename(stem: str, ext: str) -> str:
    return f"{stem}-{timezone.localtime():%Y%m%d%H%M}.{ext}"


def _csv_response(chunks: Iterable[bytes], name: str) -> StreamingHttpResponse:
    # Streamed after the view returned: the rows are read where the view read them
    # (inside its replica_reads(), the replica).
    response = StreamingHttpResponse(carried(chunks), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _xlsx_response(write: Callable, name: str) -> FileResponse:
    """An XLSX written to a spooled temp file, so a large workbook does not sit in memory."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    write(out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX_CONTENT_TYPE)


def export_response(tables: list[ReportTable], *, kind: str, stem: str, heading: str = ""):
    """A download of the tables: ``kind`` csv (streamed) or xlsx (its first row: ``heading``
    — the unit and the period — and 数据截至)."""
    if kind == "csv":
        return _csv_response(csv_lines(tables), filename(stem, "csv"))
    return _xlsx_response(lambda out: write_xlsx(tables, out, heading=heading), filename(stem, "xlsx"))


# --- lists of appeals: streamed inline up to a limit, a job above it (issue 23) ------------------


@dataclass(frozen=True)
class RowSource:
    """An export as large as the appeals it lists: the columns, ``rows()`` — row dicts
    read from a server-side cursor, so only call it inside a transaction — and
    ``count(limit)``: the rows, counted up to ``limit`` (min(rows, limit))."""

    key: str  # the export job's kind (governance.kernel.exports.register) and the file stem
    title: str
    columns: list[Column]
    rows: Callable[[], Iterator[dict]]
    count: Callable[[int], int]
    heading: str = ""


def _source_widths(columns: list[Column]) -> list[float]:
    # No pass over the rows to measure them: the header's width, codes and times wider.
    wide = {"code": 20, "text": 16}
    return [min(max(_text_width(str(c.label)) + 2, wide.get(c.kind, 8)), 40) for c in columns]


def _source_csv(source: RowSource) -> Iterator[bytes]:
    """The CSV of a source: the header at once (the first byte does not wait for the query),
    then the rows from a server-side cursor inside one transaction."""
    yield from csv_stream([[c.label for c in source.columns]])

    def lines():
        printed = row_printer(source.columns)
        with export_jobs.streaming_transaction():
            for row in source.rows():
                yield printed(row)

    yield from csv_stream(lines(), batch=1000, bom=False)


def write_rows(source: RowSource, *, fmt: str, out, progress=None) -> int:
    """Write the source as ``fmt`` to the binary file ``out`` (the export job's writer, and
    the inline XLSX's); returns the rows written. ``progress`` (governance.kernel.exports.
    Progress) is told the total first, then every row."""
    if progress is not None:
        progress.set_total(source.count(10**9))
    if fmt == export_jobs.CSV:
        written = 0

        def lines():
            nonlocal written
            printed = row_printer(source.columns)
            for row in source.rows():
                yield printed(row)
                written += 1
                if progress is not None:
                    progress.step()

        with export_jobs.streaming_transaction():
            for chunk in csv_stream([[c.label for c in source.columns]]):
                out.write(chunk)
            for chunk in csv_stream(lines(), batch=1000, bom=False):
                out.write(chunk)
        return written
    book = XlsxBook(out)
    sheet = _sheet(book, source.title, source.columns, widths=_source_widths(source.columns),
                   title_text=title_line(source, source.heading))
    count = 0
    columns = source.columns
    with export_jobs.streaming_transaction():
        for row in source.rows():
            sheet.append([_xlsx_value(c, row) for c in columns])
            count += 1
            if progress is not None:
                progress.step()
    book.close()
    return count


def rows_export_response(source: RowSource, *, fmt: str, user, scope: str, params: dict):
    """An export of a list of appeals: within the inline limit of ``fmt``, the file (a CSV
    streamed); above it, a job (``params`` rebuild the source in the worker: the writer
    registered for ``source.key``) and a redirect to its page."""
    limit = export_jobs.inline_limit(fmt)
    counted = source.count(limit + 1)
    name = filename(source.key, fmt)
    if counted <= limit:
        if fmt == export_jobs.CSV:
            return _csv_response(_source_csv(source), name)
        return _xlsx_response(lambda out: write_rows(source, fmt=fmt, out=out), name)
    job = export_jobs.job_create(user=user, scope=scope, kind=source.key, fmt=fmt, params=params,
                                 title=str(source.heading or source.title), download_name=name, total=counted)
    return redirect("exports:job", token=job.token)
