"""In Chromium, with no tile server: the supervisor drills from the city choropleth down
to a community, and opens its report page (issue 21). October 2026 scored as in
tests/reports/conftest.py (甲二社区 the worst, 综合得分 55.0); boundaries of tests/maps.py."""

import pytest

from tests.browser import browser_page, login_as  # noqa: F401  (fixture)
from tests.maps import import_city_boundaries

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _still_at(page, level: str) -> None:
    """Wait for the choropleth's units of ``level``, drawn, with no move or load under way:
    a click while the map still moves, or while a refresh redraws the shapes, lands on a
    shape that is replaced before its click event (the map's data-busy)."""
    page.wait_for_function(f"""() => {{ const el = document.getElementById('choropleth');
        return el.dataset.level === '{level}' && !el.dataset.busy; }}""")


def test_the_supervisor_drills_from_the_city_choropleth_to_a_community(
        city, scored, browser_page, live_server):  # noqa: F811
    import_city_boundaries()
    page = browser_page
    login_as(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/reports/map/?period=2026-10&measure=composite")
    choropleth = page.locator("#choropleth")
    _still_at(page, "district")
    assert "综合得分" in page.locator("#choropleth-legend").inner_text()
    page.locator("path.gz-unit-110101").click()  # 东城区 → its streets
    _still_at(page, "street")
    assert choropleth.get_attribute("data-features") == "2"
    page.locator("path.gz-unit-110101001").click()  # 甲街道 → its communities
    _still_at(page, "community")
    assert choropleth.get_attribute("data-features") == "2"
    assert page.locator("#choropleth-crumbs").inner_text() == "全市 › 东城区 › 甲街道"
    # 甲二社区's 综合得分 of October is 55.0: the colour of 50–65; its report page is a click away.
    assert page.locator("path.gz-unit-110101001002").get_attribute("fill") == "#ef8a62"
    page.locator("path.gz-unit-110101001002").click()  # 甲二社区 → its grids
    _still_at(page, "grid")
    link = page.locator("#choropleth-info a")
    assert link.get_attribute("href") == "/reports/unit/community/110101001002/?period=2026-10"
    link.click()
    page.wait_for_url(f"{live_server.url}/reports/unit/community/110101001002/?period=2026-10")
    assert "甲二社区" in page.locator("h1").inner_text()
    assert page.console_errors == []
