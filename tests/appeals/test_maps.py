"""The map data endpoints (issue 21): bad input is a 400 naming it, reads are scoped like
the lists (404 outside), public answers carry no personal data, and far out the queue
map answers with clusters, not rows. Boundaries of tests/maps.py; the test city's
buildings get points inside their grids."""

import json
from decimal import Decimal

import pytest
from django.utils import timezone

from appeals.enums import AppealState
from appeals.maps import open_appeals_near
from governance.staff.selectors import jurisdiction_for
from grids.models import Building
from tests.appeals.factories import grid_category, receive
from tests.maps import import_city_boundaries

pytestmark = pytest.mark.django_db

CITY_BOX = "116.29,39.89,116.51,40.01"


@pytest.fixture
def placed(city):
    """Boundaries, and points: 和平里1号楼 (A1) at 39.95, 116.31; 和平里2号楼 (A2) at 39.95,
    116.3305 — 1.2 km east; 安定门3号楼 (B1) 39.95, 116.36; 交道口4号楼 (C1) 39.95, 116.45."""
    import_city_boundaries()
    for building, lon in ((city.building_a1, "116.310000"), (city.building_a2, "116.330500"),
                          (city.building_b1, "116.360000"), (city.building_c1, "116.450000")):
        Building.objects.filter(pk=building.pk).update(latitude=Decimal("39.950000"), longitude=Decimal(lon))
        building.refresh_from_db()
    return city


def _json(response):
    return json.loads(response.content.decode())


@pytest.mark.parametrize("query, message", [
    ("zoom=12", "缺少 bbox"),
    ("bbox=116.3,39.9,116.5&zoom=12", "bbox 须为“西,南,东,北”"),
    ("bbox=116.5,39.9,116.3,40.0&zoom=12", "bbox 须为“西,南,东,北”"),
    ("bbox=100,30,120,45&zoom=12", "bbox 过大"),
    ("bbox=116.3,39.9,116.5,nan&zoom=12", "bbox 须为"),
    (f"bbox={CITY_BOX}&zoom=99", "zoom 不能大于 20"),
    (f"bbox={CITY_BOX}", "缺少 zoom"),
])
@pytest.mark.parametrize("url", ["/appeals/map/data/", "/territory/map/boundaries/", "/territory/map/buildings/",
                                 "/reports/map/data/", "/reports/map/density/"])
def test_bad_map_queries_are_400_naming_the_problem(placed, login, url, query, message):
    client = login(placed.users.supervisor)
    response = client.get(f"{url}?{query}")
    assert response.status_code == 400
    assert message in _json(response)["error"]


def test_public_place_queries_are_checked_too(placed, client):
    assert client.get("/places/near/?lat=91&lon=116.3").status_code == 400
    assert "lat" in _json(client.get("/places/near/?lon=116.3"))["error"]
    assert client.get("/places/named/?q=" + "和" * 51).status_code == 400


def test_the_queue_map_shows_the_lists_appeals_with_its_filters(placed, login):
    category = grid_category()
    a1 = receive(placed, category=category, building=placed.building_a1)
    a2 = receive(placed, category=category, building=placed.building_a2)
    pinned = receive(placed, category=category, street=None, latitude=Decimal("39.96"), longitude=Decimal("116.34"))
    client = login(placed.users.grid_worker2)  # grid A2: a2 and the pinned one (in A2)
    data = _json(client.get(f"/appeals/map/data/?bbox={CITY_BOX}&zoom=13"))
    assert data["total"] == 2 and data["clusters"] == []
    by_code = {p["code"]: p for p in data["points"]}
    assert set(by_code) == {a2.tracking_code, pinned.tracking_code}
    assert by_code[pinned.tracking_code]["lat"] == 39.96 and by_code[a2.tracking_code]["lon"] == 116.3305
    assert by_code[a2.tracking_code]["state"] == AppealState.DISPATCHED and by_code[a2.tracking_code]["overdue"] is False
    assert "phone" not in json.dumps(data) and "13812345678" not in json.dumps(data)
    # The list's filters: the search narrows the map as it narrows the list.
    data = _json(client.get(f"/appeals/map/data/?bbox={CITY_BOX}&zoom=13&q={pinned.tracking_code}"))
    assert [p["code"] for p in data["points"]] == [pinned.tracking_code]
    # A box elsewhere: nothing.
    assert _json(client.get("/appeals/map/data/?bbox=116.40,39.90,116.50,40.00&zoom=13"))["total"] == 0
    assert a1.tracking_code not in json.dumps(_json(client.get(f"/appeals/map/data/?bbox={CITY_BOX}&zoom=13")))


def test_far_out_the_queue_map_answers_with_clusters(placed, login, settings, monkeypatch):
    from appeals import maps

    monkeypatch.setattr(maps, "POINTS_UP_TO", 2)
    category = grid_category()
    for _ in range(3):
        receive(placed, category=category, building=placed.building_a1)
    receive(placed, category=category, building=placed.building_c1)
    client = login(placed.users.supervisor)  # browses the whole city, open appeals
    data = _json(client.get(f"/appeals/map/data/?bbox={CITY_BOX}&zoom=11"))
    assert data["total"] == 4
    assert [(c["n"], c["lat"], c["lon"]) for c in data["clusters"]] == [(3, 39.95, 116.31)]
    assert [p["lon"] for p in data["points"]] == [116.45]  # a cell of one appeal: that appeal
    # Close in: every appeal its own point.
    data = _json(client.get(f"/appeals/map/data/?bbox={CITY_BOX}&zoom=16"))
    assert len(data["points"]) == 4 and data["clusters"] == []


def test_the_appeal_page_shows_the_open_appeals_within_100_m(placed, login):
    category = grid_category()
    here = receive(placed, category=category, building=placed.building_a2)
    # 0.0008° of latitude ≈ 89 m north; 0.0012° ≈ 133 m.
    near = receive(placed, category=category, street=None, latitude=Decimal("39.9508"), longitude=Decimal("116.3305"))
    receive(placed, category=category, street=None, latitude=Decimal("39.9512"), longitude=Decimal("116.3305"))
    found = open_appeals_near(jurisdiction=jurisdiction_for(placed.users.grid_worker2), appeal=here)
    assert [(n.appeal, round(n.distance_m)) for n in found] == [(near, 89)]
    page = login(placed.users.grid_worker2).get(f"/appeals/{here.tracking_code}/").content.decode()
    assert "附近 100 米内其他未办结诉求 1 件" in page and near.tracking_code in page
    assert 'id="appeal-map"' in page and 'id="appeal-map-data"' in page
    # Another grid's worker sees neither (outside their jurisdiction).
    assert open_appeals_near(jurisdiction=jurisdiction_for(placed.users.outsider), appeal=here) == []


def test_boundaries_are_scoped_simplified_far_out_and_cached_until_they_change(
        placed, login, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    client = login(placed.users.community_worker)  # 甲一社区: its two grids only
    response = client.get(f"/territory/map/boundaries/?bbox={CITY_BOX}&zoom=15&level=grid")
    data = _json(response)
    assert [f["properties"]["code"] for f in data["features"]] == ["110101001001001", "110101001001002"]
    assert data["features"][1]["geometry"]["coordinates"][0][0] == [116.325, 39.9]
    assert client.get(f"/territory/map/boundaries/?bbox={CITY_BOX}&zoom=12&level=street").content.count(b"Feature\"") == 0
    # Far out, the viewer's own level at least: a grid worker's grid at city zoom.
    far = _json(login(placed.users.grid_worker).get(f"/territory/map/boundaries/?bbox={CITY_BOX}&zoom=10"))
    assert [f["properties"]["code"] for f in far["features"]] == ["110101001001001"]
    client = login(placed.users.community_worker)
    # Outside the jurisdiction: 404.
    assert client.get(f"/territory/map/boundaries/?bbox={CITY_BOX}&zoom=12&parent=110101002").status_code == 404
    # Cached: the second answer reads the codes in SQL and the shapes from the cache.
    with django_assert_max_num_queries(4):  # session, user, posts, the codes in the box
        client.get(f"/territory/map/boundaries/?bbox={CITY_BOX}&zoom=15&level=grid")
    from grids.boundaries import boundaries_import
    from tests.maps import collection, feature, rect

    with django_capture_on_commit_callbacks(execute=True):  # the token is renewed after the commit
        assert boundaries_import(data=collection(feature("110101001001002", rect(116.325, 116.349)))).ok
    data = _json(client.get(f"/territory/map/boundaries/?bbox={CITY_BOX}&zoom=15&level=grid"))
    assert data["features"][1]["geometry"]["coordinates"][0][1] == [116.349, 39.9]  # the new one


def test_public_places_near_a_pin_and_by_name_carry_no_personal_data(placed, client):
    data = _json(client.get("/places/near/?lat=39.9501&lon=116.3306"))
    assert data["place"] == {"street": {"code": "110101001", "name": "甲街道"},
                             "community": {"code": "110101001001", "name": "甲一社区"}, "grid": "第二网格",
                             "method": "boundary"}
    # 0.0001° north (11.1 m) and east (8.5 m): 14 m.
    assert [(b["code"], b["distance_m"]) for b in data["buildings"]] == [(placed.building_a2.code, 14)]
    text = json.dumps(data, ensure_ascii=False)
    assert "李秀英" not in text and "13900001111" not in text
    named = _json(client.get("/places/named/?q=和平里"))
    assert [(c["name"], c["buildings"]) for c in named["compounds"]] == [("和平里小区", 2), ("和平里小区", 1),
                                                                         ("和平里小区", 1)]
    assert _json(client.get("/places/named/?q=甲一"))["communities"][0]["name"] == "甲一社区"


def test_the_choropleth_is_scoped_and_carries_the_measure(placed, login):
    client = login(placed.users.street_officer)  # 甲街道: its communities, not 乙街道's
    response = client.get(f"/reports/map/data/?bbox={CITY_BOX}&zoom=12&level=community&measure=rework_rate")
    data = _json(response)
    assert response["Content-Type"].startswith("application/geo+json")
    assert [f["properties"]["code"] for f in data["features"]] == ["110101001001", "110101001002"]
    assert data["measure_label"] == "返工率(%)" and data["lower_is_better"] is True
    assert data["features"][0]["properties"]["drill"] is True
    assert data["features"][0]["properties"]["url"].startswith("/reports/unit/community/110101001001/?period=")
    assert client.get(f"/reports/map/data/?bbox={CITY_BOX}&zoom=12&parent=110101002").status_code == 404
    assert client.get(f"/reports/map/data/?bbox={CITY_BOX}&zoom=12&measure=nope").status_code == 400
    grids = _json(client.get(f"/reports/map/data/?bbox={CITY_BOX}&zoom=14&parent=110101001001"))
    assert grids["level"] == "grid" and [f["properties"]["drill"] for f in grids["features"]] == [False, False]
    # A grid worker: their grid alone; a department handler has no units on the map.
    own = _json(login(placed.users.grid_worker).get(f"/reports/map/data/?bbox={CITY_BOX}&zoom=12"))
    assert [f["properties"]["code"] for f in own["features"]] == ["110101001001001"]
    assert login(placed.users.department_handler).get(f"/reports/map/data/?bbox={CITY_BOX}&zoom=12").status_code == 403  # no unit to report on


def test_the_choropleth_answer_is_kept_until_the_scores_or_the_boundaries_change(
        placed, login, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    from governance.assessment.selectors import SCORES_TOKEN_KEY
    from governance.kernel import shared_cache
    from grids.boundaries import boundaries_import
    from tests.maps import collection, feature, rect

    client = login(placed.users.street_officer)
    url = f"/reports/map/data/?bbox={CITY_BOX}&zoom=15&level=grid&measure=composite"
    first = client.get(url).content
    with django_assert_max_num_queries(3):  # session, user, posts: the answer from the cache
        assert client.get(url).content == first
    # New boundaries: a new answer with the new outline.
    with django_capture_on_commit_callbacks(execute=True):
        assert boundaries_import(data=collection(feature("110101001001002", rect(116.325, 116.349)))).ok
    moved = _json(client.get(url))
    outline = next(f for f in moved["features"] if f["properties"]["code"] == "110101001001002")
    assert outline["geometry"]["coordinates"][0][1] == [116.349, 39.9]
    # New scores (compute_month renews the token): computed again, not from the cache.
    shared_cache.renew(SCORES_TOKEN_KEY)
    with django_assert_max_num_queries(30) as queries:
        client.get(url)
    assert len(queries.captured_queries) > 3


def test_density_counts_the_periods_appeals_by_place(placed, login):
    category = grid_category()
    for _ in range(2):
        receive(placed, category=category, building=placed.building_a1)
    receive(placed, category=category, building=placed.building_c1)
    client = login(placed.users.supervisor)
    # This month's appeals (the reports open on the last final month unless asked).
    month = f"period={timezone.localdate():%Y-%m}"
    data = _json(client.get(f"/reports/map/density/?bbox={CITY_BOX}&zoom=16&{month}"))
    assert sorted((c["n"], c["lon"]) for c in data["cells"]) == [(1, 116.45), (2, 116.31)]
    far = _json(client.get(f"/reports/map/density/?bbox={CITY_BOX}&zoom=10&{month}"))
    assert sum(c["n"] for c in far["cells"]) == 3  # by grid, at the grids' middles
    assert _json(client.get(f"/reports/map/density/?bbox={CITY_BOX}&zoom=16"))["cells"] == []  # the default period
    other = _json(client.get(f"/reports/map/density/?bbox={CITY_BOX}&zoom=16&{month}&category={category.pk + 1}"))
    assert other["cells"] == []


def test_the_patrol_form_takes_the_phones_position(placed, login):
    category = grid_category()
    client = login(placed.users.grid_worker)  # grid A1
    page = client.get("/appeals/patrol/").content.decode()
    assert 'data-position-button' in page and 'name="latitude"' in page and 'id="map-config"' in page
    response = client.post("/appeals/patrol/", {
        "category": category.pk, "description": "路灯不亮", "building": "", "address_text": "",
        "latitude": "39.9600000", "longitude": "116.3100000",
    })
    assert response.status_code == 302
    from appeals.models import Appeal

    appeal = Appeal.objects.get()
    # In the worker's own grid by the position: taken on at once (主动发现), the point kept.
    assert (appeal.grid, appeal.state, str(appeal.latitude)) == (placed.grid_a1, AppealState.IN_PROGRESS, "39.960000000")
    # Without a position or a building, the words are still needed.
    response = client.post("/appeals/patrol/", {"category": category.pk, "description": "路灯不亮"})
    assert response.status_code == 200 and "未选择楼栋时，请用文字填写具体地址" in response.content.decode()


def test_the_api_intake_routes_by_a_point_too(placed, client):
    category = grid_category()
    response = client.post("/api/v1/appeals/", {
        "category": category.code, "description": "路灯不亮", "phone": "13812345678",
        "latitude": "39.97", "longitude": "116.33",
    }, content_type="application/json")
    assert response.status_code == 201, response.content
    from appeals.models import Appeal

    appeal = Appeal.objects.get(tracking_code=_json(response)["tracking_code"])
    assert (appeal.grid, appeal.handling_grid, appeal.building) == (placed.grid_a2, placed.grid_a2, None)
    bad = client.post("/api/v1/appeals/", {"category": category.code, "description": "x", "phone": "13812345678",
                                           "latitude": "95", "longitude": "116.33"}, content_type="application/json")
    assert bad.status_code == 400 and "latitude" in bad.content.decode()
