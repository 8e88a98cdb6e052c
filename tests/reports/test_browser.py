"""In Chromium: the report page draws its charts from the computed scores with no
console errors, and the Excel export downloads and opens."""

import io

import pytest
from openpyxl import load_workbook

from tests.browser import browser_page, login_as  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_report_page_charts_and_xlsx_download(city, scored, browser_page, live_server):  # noqa: F811
    page = browser_page
    login_as(page, live_server, "supervisor")
    page.click("text=报表")
    page.goto(f"{live_server.url}/reports/?period=2026-10&level=community")
    for name in ("trend", "ranking", "heat"):
        page.wait_for_selector(f'[data-chart="{name}"] svg', timeout=10000)
    # The heat table colours by "better", not by size: 甲一社区's 返工率 of 0.00 is
    # drawn in the best colour (green), as its 100.00 解决率 is.
    fills = page.evaluate("""() => {
        const chart = echarts.getInstanceByDom(document.querySelector('[data-chart="heat"]'));
        const data = chart.getModel().getSeriesByIndex(0).getData();
        const out = {};
        for (let i = 0; i < data.count(); i++) {
            const item = data.getRawDataItem(i);
            out[item[0] + ":" + item[3]] = data.getItemVisual(i, "style").fill;
        }
        return out;
    }""")
    green = "#2e7d32"
    assert fills["6:0"].lower() in (green, "rgba(46,125,50,1)")  # 返工率 0.00: the best
    assert fills["2:100"].lower() in (green, "rgba(46,125,50,1)")  # 解决率 100.00: the best
    rows = page.locator('table[data-table="units-community"] tbody tr')
    assert rows.count() == 3
    assert rows.first.locator("td").nth(3).inner_text() == "甲二社区"  # the worst first
    with page.expect_download() as download_info:
        page.click("#export-xlsx")
    path = download_info.value.path()
    sheet = load_workbook(io.BytesIO(open(path, "rb").read()), read_only=True).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)][1:]  # after the title row
    header = cells[0]
    assert cells[1][3] == "甲二社区" and cells[1][header.index("综合得分")] == pytest.approx(55.0)
    # Two clicks from the table: the worst community's page, with its charts.
    page.click('table[data-table="units-community"] tbody tr >> nth=0 >> a')
    page.wait_for_selector('[data-chart="trend"] svg', timeout=10000)
    page.wait_for_selector('[data-chart="categories"] svg', timeout=10000)
    assert "甲二社区" in page.locator("h1").inner_text()
    assert page.console_errors == []
