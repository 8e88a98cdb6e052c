"""In Chromium (issue 21's "Done when"), with no tile server configured:
- a resident submits with "使用我的位置" (geolocation granted by the test) and the appeal
  is routed to the grid whose polygon holds the point;
- the grid worker sees that appeal on the queue map;
(the supervisor's choropleth: tests/reports/test_browser_map.py)
and the GCJ-02 conversion of static/js/map.js, both ways, against known points.

Boundaries of tests/maps.py: grid A2 is 116.325–116.35 × 39.90–40.00 (甲一社区, 甲街道).
"""

import pytest

from appeals.enums import AppealState
from appeals.models import Appeal
from tests.appeals.factories import grid_category
from tests.browser import browser_page, login_as  # noqa: F401  (fixture)
from tests.maps import import_city_boundaries

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POINT = {"latitude": 39.9512, "longitude": 116.3391}  # inside grid A2


def test_a_resident_submits_with_my_location_and_it_is_routed_to_the_grid_that_holds_it(
        city, browser_page, live_server):  # noqa: F811
    import_city_boundaries()
    category = grid_category()
    page = browser_page
    assert live_server.url.startswith("http://localhost")  # a secure context: geolocation is offered
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation(POINT)
    page.goto(f"{live_server.url}/submit/")
    button = page.locator("#use-location")
    button.wait_for(state="visible")
    button.click()
    page.wait_for_selector("#nearby-places .nearby-place")
    assert "甲街道 · 甲一社区 · 第二网格" in page.locator("#nearby-places").inner_text()
    assert page.input_value("#id_latitude") == "39.9512000"
    assert page.input_value("#id_longitude") == "116.3391000"
    page.select_option("#id_category", str(category.pk))
    page.fill("#id_description", "楼下绿地里的井盖缺了一块")
    page.fill("#id_phone", "13812345678")
    page.click("button.public-submit")
    page.wait_for_url(f"{live_server.url}/submit/done/")
    appeal = Appeal.objects.get()
    assert (appeal.grid, appeal.community, appeal.building) == (city.grid_a2, city.comm_a, None)
    assert (appeal.state, appeal.handling_grid) == (AppealState.DISPATCHED, city.grid_a2)
    assert str(appeal.latitude) == "39.951200000" and str(appeal.longitude) == "116.339100000"
    assert page.console_errors == []

    # The grid worker of A2 sees it on the queue map, and opens it from there — also when the
    # grid outlines arrive after the appeals (held here): they are drawn beneath them.
    worker = browser_page.context.new_page()
    login_as(worker, live_server, "grid_worker2")
    held = []
    worker.route("**/territory/map/boundaries/**", lambda route: held.append(route))
    worker.goto(f"{live_server.url}/appeals/map/")
    marker = worker.locator("path.gz-appeal.gz-state-dispatched")
    marker.wait_for()
    assert marker.count() == 1
    assert worker.locator("#map-count").inner_text() == "1"
    for route in held:
        route.continue_()
    worker.unroute("**/territory/map/boundaries/**")
    worker.locator(".leaflet-gzOutlines-pane path").first.wait_for()
    marker.click(timeout=5000)
    worker.locator(f".leaflet-popup a:has-text('{appeal.tracking_code}')").click()
    worker.wait_for_url(f"{live_server.url}/appeals/{appeal.tracking_code}/")
    worker.wait_for_selector("#appeal-map .leaflet-interactive")
    assert "附近 100 米内其他未办结诉求 0 件" in worker.content()
    # The worker of A1 does not: outside the queue of their grid.
    other = browser_page.context.new_page()
    other.context.clear_cookies()
    login_as(other, live_server, "grid_worker")
    other.goto(f"{live_server.url}/appeals/map/")
    other.wait_for_function("() => document.getElementById('queue-map').dataset.loaded !== undefined")
    assert other.locator("path.gz-appeal").count() == 0


def test_gcj02_conversion_both_ways_against_known_points(city, browser_page, live_server):  # noqa: F811
    """Known pairs of the published transform (WGS-84 → GCJ-02): Shanghai, Shenzhen and
    Beijing; and GCJ-02 (45, 123) → WGS-84 (44.99804071, 122.99395597)."""
    page = browser_page
    page.goto(f"{live_server.url}/submit/")
    page.wait_for_function("() => window.GZMap !== undefined")
    known = [
        ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
        ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
        ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
    ]
    for wgs, gcj in known:
        there = page.evaluate("([lat, lon]) => GZMap.wgs84ToGcj02(lat, lon)", list(wgs))
        back = page.evaluate("([lat, lon]) => GZMap.gcj02ToWgs84(lat, lon)", list(gcj))
        assert there == pytest.approx(list(gcj), abs=1e-9)
        assert back == pytest.approx(list(wgs), abs=1e-7)  # about a centimetre
    # gcoord's figure (to its 5 decimals); ours is iterated to the exact inverse: going there
    # again gives back the GCJ-02 point to a nanodegree.
    back = page.evaluate("GZMap.gcj02ToWgs84(45, 123)")
    assert back == pytest.approx([44.99804071, 122.99395597], abs=1e-5)
    assert page.evaluate("([lat, lon]) => GZMap.wgs84ToGcj02(lat, lon)", back) == pytest.approx([45, 123], abs=1e-9)
    # Outside China: no offset.
    assert page.evaluate("GZMap.wgs84ToGcj02(51.5, -0.12)") == [51.5, -0.12]
