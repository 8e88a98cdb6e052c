"""Open311 addresses (issue 13, item 6): address_string in either order, ambiguous
addresses flagged 地址不明 and waiting in the right street's queue, the reported point
kept as given and rounded in public reads, the discovery document, HEAD.
"""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from appeals.enums import AppealState, QueueLevel
from appeals.models import Appeal
from appeals.open311 import checks
from appeals.open311.models import ServicesChange
from governance.enums import Role
from grids.models import Community, Grid, Street
from tests.factories import BuildingFactory, UserFactory, post
from tests.open311.conftest import BASE, errors_of, json_body, xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def dhm(o311):
    """东华门街道 (110101003) of 东城区, its 南池子社区 and a grid, with three buildings of
    普度寺小区 — 3号楼, 13号楼 and 4号楼 of 南池子大街12号院 — and, in 乙街道, a 3号楼 of
    another compound (菊儿小区). A street officer for 东华门街道."""
    city = o311.city
    street = Street.objects.create(district=city.dongcheng, code="110101003", name="东华门街道")
    community = Community.objects.create(street=street, code="110101003001", name="南池子社区")
    grid = Grid.objects.create(community=community, code="110101003001001", name="第一网格")
    buildings = {
        n: BuildingFactory(grid=grid, code=f"{grid.code}{i:04d}", address=f"东城区南池子大街12号院{n}号楼",
                           compound="普度寺小区")
        for i, n in enumerate((3, 13, 4), start=1)
    }
    other = BuildingFactory(grid=city.grid_c1, code=f"{city.grid_c1.code}0003", address="东城区交道口南大街8号院3号楼",
                            compound="菊儿小区")
    officer = UserFactory(username="dhm_officer")
    post(officer, Role.STREET_OFFICER, street=street)
    return SimpleNamespace(o311=o311, city=city, street=street, grid=grid, target=buildings[3], buildings=buildings,
                           other_3=other, officer=officer)


def _appeal(response) -> Appeal:
    assert response.status_code == 200, response.content.decode()
    return Appeal.objects.get(pk=int(json_body(response)[0]["service_request_id"]))


@pytest.mark.parametrize("text", [
    "北京市东城区东华门街道普度寺小区3号楼",  # general first, as Chinese writes it
    "3号楼, 普度寺小区, 东华门街道, 东城区, 北京市",  # specific first, the spec's English order
    "3号楼，普度寺小区，东华门街道",  # full-width commas, no city or district
    "普度寺小区 3号楼",
    "3号楼 普度寺小区",
    "３号楼，普度寺小区",  # a full-width digit
    "北京市东城区南池子大街12号院3号楼",  # the building's own address
    "南池子大街12号院3号楼, 东城区, 北京市",
])
def test_both_orders_find_the_same_building(dhm, post_request, text):
    appeal = _appeal(post_request(address_id="", address_string=text))
    assert appeal.building == dhm.target  # not 13号楼, not 乙街道's 3号楼
    assert appeal.address_unclear is False
    assert appeal.handling_grid == dhm.grid and appeal.state == AppealState.DISPATCHED


def test_the_old_examples_still_match(o311, post_request):
    for text, building in (("和平里1号楼, 和平里小区, 东城区", o311.city.building_a1),
                           ("北京市东城区和平里2号楼", o311.city.building_a2), ("安定门3号", o311.city.building_b1)):
        assert _appeal(post_request(address_id="", address_string=text, phone=None)).building == building


def test_several_buildings_wait_flagged_in_the_one_street_they_share(dhm, post_request, login):
    # 普度寺小区 has three buildings: never pinned to one of them.
    appeal = _appeal(post_request(address_id="", address_string="普度寺小区", description="小区门口垃圾没人清"))
    assert appeal.building is None and appeal.address_unclear is True
    assert (appeal.state, appeal.queue_level, appeal.street) == (AppealState.RECEIVED, QueueLevel.STREET, dhm.street)
    assert appeal.address_text == "普度寺小区" and appeal.description == "小区门口垃圾没人清"
    assert appeal.territory_code == dhm.street.code and appeal.handling_level == ""
    # The street's dispatch centre sees it, tagged, in its queue and on its page.
    client = login(dhm.officer)
    queue = client.get("/appeals/").content.decode()
    row = queue.split(f">{appeal.tracking_code}</a>")[1].split("</tr>")[0]
    assert '<span class="badge bad">地址不明</span>' in row
    detail = client.get(f"/appeals/{appeal.tracking_code}/").content.decode()
    assert "地址不明</span>" in detail and "普度寺小区" in detail
    # Not another street's.
    assert appeal.tracking_code not in login(dhm.city.users.street_officer).get("/appeals/").content.decode()


def test_a_street_or_community_alone_waits_in_that_street(dhm, post_request):
    for text in ("东城区东华门街道", "南池子社区, 东城区"):
        appeal = _appeal(post_request(address_id="", address_string=text, phone=None))
        assert (appeal.address_unclear, appeal.street, appeal.building) == (True, dhm.street, None)


def test_only_a_district_needs_the_fallback_street_or_is_refused(dhm, post_request, settings):
    for text in ("北京市东城区", "3号楼, 东城区"):  # a district; or 3号楼 in two streets
        response = post_request(address_id="", address_string=text, phone=None)
        assert response.status_code == 400
        [(code, description)] = errors_of(response, "json")
        assert code == 400 and "无法确定所属街道" in description and text in description
    assert not Appeal.objects.exists()
    settings.OPEN311_FALLBACK_STREET = dhm.city.street_b.code
    for text in ("北京市东城区", "3号楼, 东城区"):
        appeal = _appeal(post_request(address_id="", address_string=text, phone=None))
        assert (appeal.address_unclear, appeal.street, appeal.queue_level) == (True, dhm.city.street_b, QueueLevel.STREET)
        assert appeal.address_text == text


def test_the_reported_point_is_kept_as_given_and_rounded_in_public(dhm, o311, client, post_request):
    # 25 m from 和平里1号楼: placed there, the point kept to its last digit.
    appeal = _appeal(post_request(address_id="", lat="39.930217", long="116.410381"))
    assert appeal.building == o311.city.building_a1
    assert (appeal.latitude, appeal.longitude) == (Decimal("39.930217"), Decimal("116.410381"))
    row = json_body(client.get(f"{BASE}/requests/{appeal.pk}.json"))[0]
    assert (row["lat"], row["long"]) == (39.930, 116.410)
    # Far from any building, with an ambiguous address: accepted, flagged, the point kept.
    flagged = _appeal(post_request(address_id="", lat="39.9155555", long="116.4044444", address_string="普度寺小区"))
    assert flagged.address_unclear and (flagged.latitude, flagged.longitude) == (Decimal("39.9155555"),
                                                                                 Decimal("116.4044444"))
    row = json_body(client.get(f"{BASE}/requests/{flagged.pk}.json"))[0]
    assert (row["lat"], row["long"]) == (39.916, 116.404)  # about 100 m: never the exact point
    assert "普度寺小区" not in (row["address"] or "")  # the typed text is not published
    root = xml(client.get(f"{BASE}/requests/{flagged.pk}.xml"))
    assert root.find("request").findtext("lat") == "39.916"
    # A building's own point is rounded too.
    building_a2 = _appeal(post_request(address_id=o311.city.building_a2.code))
    assert json_body(client.get(f"{BASE}/requests/{building_a2.pk}.json"))[0]["lat"] == 39.931


def test_the_discovery_document_in_both_formats(o311, client, settings):
    settings.PUBLIC_BASE_URL = "https://12345.example.gov.cn/"
    doc = json_body(client.get(f"{BASE}/discovery.json"))
    assert set(doc) == {"changeset", "contact", "key_service", "endpoints"}
    [endpoint] = doc["endpoints"]
    assert endpoint == {
        "specification": "http://wiki.open311.org/GeoReport_v2", "url": "https://12345.example.gov.cn/open311/v2",
        "changeset": doc["changeset"], "type": "production", "formats": ["text/xml", "application/json"],
    }
    assert "open311_key" in doc["key_service"]
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery" and root.findtext("changeset") == doc["changeset"]
    endpoint = root.find("endpoints").find("endpoint")
    assert endpoint.findtext("url") == "https://12345.example.gov.cn/open311/v2"
    assert [f.text for f in endpoint.find("formats").findall("format")] == ["text/xml", "application/json"]


def test_the_changeset_moves_when_the_services_change(o311, client):
    first = json_body(client.get(f"{BASE}/discovery.json"))["changeset"]
    assert json_body(client.get(f"{BASE}/discovery.json"))["changeset"] == first
    assert ServicesChange.objects.count() == 1
    ServicesChange.objects.update(seen_at="2026-01-01T00:00:00+08:00")  # as if seen long ago
    o311.garbage.name = "暴露垃圾（含建筑垃圾）"
    o311.garbage.save(update_fields=["name"])
    changed = json_body(client.get(f"{BASE}/discovery.json"))["changeset"]
    assert ServicesChange.objects.count() == 2 and changed > "2026-01-01T00:00:00+08:00"


@pytest.mark.parametrize("path", ["discovery.json", "services.xml", "services/01001.json", "requests.json",
                                  "nothing.json"])
def test_head_answers_wherever_get_does(o311, client, path):
    got = client.get(f"{BASE}/{path}")
    head = client.head(f"{BASE}/{path}")
    assert head.status_code == got.status_code
    assert head["Content-Type"] == got["Content-Type"]
    assert head.content == b"" and int(head["Content-Length"]) == len(got.content) > 0


def test_methods_other_than_get_and_head_are_refused(o311, client):
    response = client.post(f"{BASE}/discovery.json", {})
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    assert client.head(f"{BASE}/requests.json").status_code == 200  # GET and POST there: HEAD too


def test_a_fallback_street_that_does_not_exist_fails_the_start_up_check(o311, settings):
    settings.OPEN311_FALLBACK_STREET = "110101009"
    [error] = checks.fallback_street_exists(databases=["default"])
    assert error.id == "open311.E001" and "110101009" in error.msg
    settings.OPEN311_FALLBACK_STREET = o311.city.street_a.code
    assert checks.fallback_street_exists(databases=["default"]) == []
