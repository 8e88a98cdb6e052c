"""Exports contain exactly what the page shows: the CSV's cells are the page's cells, the
XLSX has the same rows (codes as text, figures as numbers)."""

import csv
import io

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
    assert cells[0] == page[0]
    code_column = page[0].index("编码")
    for xlsx_row, page_row in zip(cells[1:], page[1:], strict=True):
        assert xlsx_row[code_column] == page_row[code_column]  # a 15-digit code, as text
        for value, text in zip(xlsx_row, page_row, strict=True):
            if isinstance(value, int | float):
                assert float(text) == pytest.approx(value)
            else:
                assert (value or "—") == text


def test_unit_page_tables_export_too(city, scored, login):
    client = login(city.users.street_officer)
    url = "/reports/unit/street/110101001/?period=2026-10"
    tables = page_tables(client.get(url).content.decode())
    for key, which in (("units-community", "children"), ("problems", "problems"), ("categories", "categories")):
        raw = _download(client.get(f"{url}&table={which}&export=csv"))
        assert list(csv.reader(io.StringIO(raw.decode("utf-8-sig")))) == tables[key]
    assert client.get(f"{url}&table=secrets&export=csv").status_code == 404
    assert client.get(f"{url}&export=pdf").status_code == 400
