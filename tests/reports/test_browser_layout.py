"""Issue 19 §5 in Chromium at 1,366 px: the report table fits the page (no sideways page
scroll), its unit column stays in view while the table scrolls, and the column chooser
hides and shows columns, remembered in this browser across pages — the export keeps them all."""

import io

import pytest

from tests.browser import browser_page, login_as  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

URL = "/reports/?period=2026-10&level=grid"
NO_PAGE_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# The first row's unit cell lies inside the table's visible box (not scrolled away).
UNIT_VISIBLE = """() => {
    const wrap = document.querySelector('.table-wrap').getBoundingClientRect();
    const cell = document.querySelector('table.report tbody tr td.c-unit_name').getBoundingClientRect();
    return cell.left >= wrap.left - 1 && cell.right <= wrap.right + 1 && cell.width > 20;
}"""


def _shown_columns(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('table.report thead th')]"
                         ".filter(th => !th.hidden).map(th => th.dataset.col)")


def test_report_table_fits_1366_and_keeps_the_unit_column(city, scored, browser_page, live_server):  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    login_as(page, live_server, "supervisor")
    page.goto(f"{live_server.url}{URL}")
    page.wait_for_selector(".column-chooser")
    # The default columns: the optional ones wait in the chooser; the page does not scroll sideways.
    shown = _shown_columns(page)
    assert {"rank", "unit_name", "street_name", "community_name", "composite"} <= set(shown)
    assert "unit_code" not in shown and "avg_response_hours" not in shown
    assert page.evaluate(NO_PAGE_SCROLL)
    assert page.inner_text("table.report tbody tr >> nth=0 >> td.c-rank").startswith("社区内 ")

    # Every column chosen: the table is wider than the page, scrolls inside its box, and the
    # unit column stays in view when scrolled to the far right.
    page.click(".column-chooser summary")
    for box in page.locator(".column-chooser input[type=checkbox]").all():
        if not box.is_checked():
            box.check()
    assert "unit_code" in _shown_columns(page)
    assert page.evaluate("() => { const w = document.querySelector('.table-wrap'); return w.scrollWidth > w.clientWidth; }")
    page.evaluate("() => { const w = document.querySelector('.table-wrap'); w.scrollLeft = w.scrollWidth; }")
    page.wait_for_function("() => document.querySelector('.table-wrap').scrollLeft > 0")
    assert page.evaluate(NO_PAGE_SCROLL)
    assert page.evaluate(UNIT_VISIBLE)

    # The choice is remembered in this browser: hide 综合得分, go elsewhere and come back.
    page.uncheck(".column-chooser input[value=composite]")
    page.goto(f"{live_server.url}/reports/?period=2026-10&level=grid&sort=-composite")
    page.wait_for_selector(".column-chooser")
    shown = _shown_columns(page)
    assert "composite" not in shown and "unit_code" in shown
    # The export keeps every column.
    with page.expect_download() as download_info:
        page.click("#export-xlsx")
    from openpyxl import load_workbook

    with open(download_info.value.path(), "rb") as f:
        sheet = load_workbook(io.BytesIO(f.read()), read_only=True).active
    header = [c for c in next(sheet.iter_rows(min_row=2, max_row=2, values_only=True)) if c]
    assert "综合得分" in header and "编码" in header and "平均办结(小时)" in header
    assert page.console_errors == []
