"""The visits report in Chromium (issue 24): the city supervisor clicks from the city down
to a community's grids and back up, one level a page."""

import pytest

from tests.browser import browser_page, login_as  # noqa: F401  (fixture)
from tests.reports.test_visits_report import visited  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _names(page, level: str) -> list[str]:
    return page.eval_on_selector_all(f"table[data-table=visits-{level}] tbody td.c-name",
                                     "cells => cells.map(c => c.innerText.trim())")


def test_drilling_down_from_the_city_to_the_grids_and_back(visited, browser_page, live_server, tmp_path):  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    login_as(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/reports/visits/?period=2026-11")
    assert _names(page, "district") == ["东城区", "西城区"]
    assert page.inner_text("table[data-table=visits-total] td.c-rate") == "50.00"
    for name, level, children in (("东城区", "street", ["甲街道", "乙街道"]),
                                  ("甲街道", "community", ["甲一社区", "甲二社区"]),
                                  ("甲一社区", "grid", ["第一网格", "第二网格"])):
        page.click(f"table.report a:text-is('{name}')")
        page.wait_for_selector(f"table[data-table=visits-{level}]")
        assert page.inner_text("h1").startswith(f"入户走访 · {name}")
        assert _names(page, level) == children
    assert page.inner_text("table[data-table=visits-total] td.c-rate") == "40.00"
    page.screenshot(path=str(tmp_path / "visits-community.png"), full_page=True)
    # Back up one level, the period kept.
    page.click("a.button:has-text('‹ 甲街道')")
    page.wait_for_selector("table[data-table=visits-community]")
    assert "period=2026-11" in page.url
    # The period form keeps the unit.
    page.select_option("#id_period", index=1)
    page.click(".period-form button[type=submit]")
    page.wait_for_selector("table[data-table=visits-community]")
    assert "unit=110101001" in page.url
