"""Territory API: scoped to the account's jurisdiction, filtered, paginated, masked."""

import pytest
from django.urls import reverse

from governance.models import AccessLog
from grids.enums import HouseholdStatus
from grids.models import Household
from tests.factories import BuildingFactory, HouseholdFactory, ResidentFactory

pytestmark = pytest.mark.django_db

RESOURCES = ["districts", "streets", "communities", "grids", "buildings", "households"]


def lookup_of(city, resource: str):
    return {
        "districts": city.dongcheng.code,
        "streets": city.street_a.code,
        "communities": city.comm_a.code,
        "grids": city.grid_a1.code,
        "buildings": city.building_a1.code,
        "households": city.household_a1.pk,
    }[resource]


def detail_url(city, resource: str) -> str:
    return reverse(f"api-{resource}-detail", args=[lookup_of(city, resource)])


def list_url(resource: str, **params) -> str:
    url = reverse(f"api-{resource}-list")
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


def keys(response) -> list:
    return [row.get("code", row.get("id")) for row in response.json()["results"]]


# The narrowest account that sees the object at each level (all of 甲街道/甲一社区).
INSIDERS = {
    "districts": "district_supervisor",
    "streets": "street_officer",
    "communities": "community_worker",
    "grids": "grid_worker",
    "buildings": "grid_worker",
    "households": "grid_worker",
}


@pytest.mark.parametrize("resource", RESOURCES)
def test_insider_reads_detail_and_finds_it_in_the_list(city, login, resource):
    client = login(getattr(city.users, INSIDERS[resource]))
    detail = client.get(detail_url(city, resource))
    assert detail.status_code == 200
    key = detail.json().get("code", detail.json().get("id"))
    listing = client.get(list_url(resource))
    assert listing.status_code == 200
    assert key in keys(listing)


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("username", ["outsider", "grid_worker2", "department_handler", "volunteer"])
def test_outsider_gets_404_and_does_not_see_it_in_the_list(city, login, resource, username):
    client = login(getattr(city.users, username))
    detail = client.get(detail_url(city, resource))
    assert detail.status_code == 404
    assert detail.json() == {"detail": "未找到，或不在您的辖区内。", "code": "not_found"}
    listing = client.get(list_url(resource))
    assert listing.status_code == 200
    assert lookup_of(city, resource) not in keys(listing)


@pytest.mark.parametrize("resource", RESOURCES)
def test_anonymous_is_refused(city, client, resource):
    assert client.get(list_url(resource)).status_code in (401, 403)
    assert client.get(detail_url(city, resource)).status_code in (401, 403)


def test_outsider_sees_only_its_own_community(city, login):
    client = login(city.users.outsider)
    assert keys(client.get(list_url("communities"))) == [city.comm_c.code]
    assert keys(client.get(list_url("grids"))) == [city.grid_c1.code]
    assert keys(client.get(list_url("households"))) == [city.household_c1.pk]
    # Nothing above its community: the street and the district are not its to read.
    assert keys(client.get(list_url("streets"))) == []
    assert keys(client.get(list_url("districts"))) == []


def test_a_filter_cannot_widen_the_jurisdiction(city, login):
    client = login(city.users.outsider)
    response = client.get(list_url("households", community=city.comm_a.code))
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_city_supervisor_sees_every_district(city, login):
    client = login(city.users.supervisor)
    response = client.get(list_url("districts"))
    assert response.json()["results"] == [
        {"code": "110101", "name": "东城区", "street_count": 2},
        {"code": "110102", "name": "西城区", "street_count": 0},
    ]


def test_units_carry_their_parent_code_and_child_count(city, login):
    client = login(city.users.street_officer)
    community = client.get(detail_url(city, "communities")).json()
    assert community == {
        "code": "110101001001", "name": "甲一社区", "street": "110101001",
        "population": 8000, "grid_count": 2,
    }
    building = client.get(detail_url(city, "buildings")).json()
    assert building["grid"] == city.grid_a1.code
    assert building["household_count"] == 1


@pytest.mark.parametrize(
    ("resource", "param", "value_attr", "expected"),
    [
        ("streets", "district", "dongcheng", ["110101001", "110101002"]),
        ("communities", "street", "street_a", ["110101001001", "110101001002"]),
        ("grids", "community", "comm_a", ["110101001001001", "110101001001002"]),
        ("grids", "street", "street_b", ["110101002001001"]),
        ("buildings", "grid", "grid_b1", ["1101010010020010001"]),
    ],
)
def test_units_filter_by_any_ancestor(city, login, resource, param, value_attr, expected):
    client = login(city.users.supervisor)
    code = getattr(city, value_attr).code
    assert keys(client.get(list_url(resource, **{param: code}))) == expected


def test_households_filter_by_parent_status_and_care_tag(city, login):
    moved = HouseholdFactory(
        building=city.building_a1, room="999", status=HouseholdStatus.MOVED_OUT, moved_out_at="2024-05-01",
    )
    HouseholdFactory(building=city.building_a2, room="808", care_tags="subsistence,elderly_alone")
    client = login(city.users.community_worker)

    by_grid = keys(client.get(list_url("households", grid=city.grid_a1.code)))
    assert set(by_grid) == {city.household_a1.pk, moved.pk}
    assert keys(client.get(list_url("households", grid=city.grid_a1.code, status="moved_out"))) == [moved.pk]
    assert city.household_a1.pk in keys(client.get(list_url("households", status="active")))
    # Whole tags in a comma list, wherever they stand.
    elderly = keys(client.get(list_url("households", care_tag="elderly_alone")))
    assert len(elderly) == 2 and city.household_a1.pk in elderly
    assert len(keys(client.get(list_url("households", care_tag="subsistence")))) == 1
    assert keys(client.get(list_url("households", care_tag="disability"))) == []


def test_household_search_matches_what_the_pages_find(city, login):
    other = HouseholdFactory(building=city.building_a2, room="505", contact_name="孙丽")
    ResidentFactory(household=other, name="孙小明", phone="13700009999")
    client = login(city.users.community_worker)
    assert keys(client.get(list_url("households", search="孙小明"))) == [other.pk]  # a resident's name
    assert keys(client.get(list_url("households", search="0009999"))) == [other.pk]  # a resident's phone
    assert keys(client.get(list_url("households", search="王建国"))) == [city.household_a1.pk]
    assert set(keys(client.get(list_url("households", search="和平里2号楼")))) == {city.household_a2.pk, other.pk}
    # The outsider's community has 钱伟, but not for this account.
    assert keys(client.get(list_url("households", search="钱伟"))) == []


def test_unit_search_by_name(city, login):
    client = login(city.users.street_officer)
    assert keys(client.get(list_url("communities", search="甲二"))) == [city.comm_a2.code]
    assert keys(client.get(list_url("buildings", search="安定门"))) == [city.building_b1.code]


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("community", "1101", "社区编码须为 12 位数字。"),
        ("grid", "abc", "网格编码须为 15 位数字。"),
        ("status", "gone", None),
        ("care_tag", "rich", None),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(city, login, param, value, message):
    response = login(city.users.community_worker).get(list_url("households", **{param: value}))
    assert response.status_code == 400
    assert param in response.json()
    if message:
        assert response.json()[param] == [message]


def test_list_masks_phones_and_detail_shows_them_and_is_logged(city, login):
    client = login(city.users.grid_worker)
    row = client.get(list_url("households")).json()["results"][0]
    assert row["phone"] == "138****5678"
    assert row["care_tags"] == ["elderly_alone"]
    assert row["resident_count"] == 1
    assert "residents" not in row
    assert not AccessLog.objects.exists()

    detail = client.get(detail_url(city, "households")).json()
    assert detail["phone"] == "13812345678"
    assert detail["residents"][0]["name"] == "王建国"
    assert detail["residents"][0]["phone"] == "13812345678"
    log = AccessLog.objects.get()
    assert log.user == city.users.grid_worker
    assert log.action == "view"
    assert log.subject == f"household:{city.household_a1.pk}"
    assert log.record_count == 2  # the household and its one resident


def test_outsiders_failed_read_is_not_logged_as_a_view(city, login):
    login(city.users.outsider).get(detail_url(city, "households"))
    assert not AccessLog.objects.exists()


def test_pagination_and_page_size(city, login):
    for i in range(7):
        HouseholdFactory(building=city.building_a1, room=f"6{i:02d}")
    client = login(city.users.grid_worker)
    page1 = client.get(list_url("households", page_size=5)).json()
    assert page1["count"] == 8
    assert len(page1["results"]) == 5
    assert page1["next"]
    page2 = client.get(list_url("households", page_size=5, page=2)).json()
    assert len(page2["results"]) == 3
    assert not set(keys_of(page1)) & set(keys_of(page2))


def keys_of(body) -> list:
    return [row["id"] for row in body["results"]]


@pytest.mark.parametrize("path", ["/api/v1/households/abc/", "/api/v1/grids/nonsense/", "/api/v1/districts/1101/"])
def test_malformed_lookups_are_a_json_404(city, login, path):
    response = login(city.users.supervisor).get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.fixture
def crowded_grid(city):
    """Sixty buildings and 120 households with residents in grid A1."""
    buildings = [BuildingFactory(grid=city.grid_a1, code=f"{city.grid_a1.code}{i:04d}") for i in range(2, 62)]
    for building in buildings:
        for room in ("101", "102"):
            household = HouseholdFactory(building=building, room=room, care_tags="key_concern")
            ResidentFactory(household=household)
            ResidentFactory(household=household)
    return city


@pytest.mark.parametrize(
    ("resource", "params", "rows"),
    [
        ("households", {"page_size": 200}, 121),
        ("households", {"page_size": 200, "search": "居民", "care_tag": "key_concern"}, 120),
        ("buildings", {"page_size": 200}, 61),
        ("grids", {}, 2),
    ],
)
def test_list_queries_do_not_grow_with_rows(crowded_grid, login, django_assert_max_num_queries, resource, params, rows):
    client = login(crowded_grid.users.grid_worker if resource != "grids" else crowded_grid.users.community_worker)
    # session, user and posts; count and page; the idle-session save (3): nothing per row.
    with django_assert_max_num_queries(8):
        response = client.get(list_url(resource, **params))
    assert response.status_code == 200
    assert response.json()["count"] == rows
    assert len(response.json()["results"]) == rows


def test_household_detail_queries_are_bounded(crowded_grid, login, django_assert_max_num_queries):
    household = Household.objects.filter(building__grid=crowded_grid.grid_a1).last()
    client = login(crowded_grid.users.grid_worker)
    # session, user, posts; household, residents, access log; the idle-session save (3).
    with django_assert_max_num_queries(9):
        response = client.get(reverse("api-households-detail", args=[household.pk]))
    assert len(response.json()["residents"]) == 2
