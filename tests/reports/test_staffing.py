"""The staffing ratio (issue 13, item 4): 每万城镇常住人口不少于18名社区工作者.

Distinct people holding the counted posts, over the units' 城镇常住人口; 达标 judged for
the districts and the city only; the ratio truncated (17.99, never 18.00); the gap
ceil(18 × population / 10,000) − workers; "无数据" without a population figure.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured

from governance.enums import Role, staffing_roles
from tests.factories import UserFactory, post
from tests.reports.conftest import page_tables

pytestmark = pytest.mark.django_db


@pytest.fixture
def staffed(city):
    """The test city's posts (community_worker in 甲一社区, outsider in 乙一社区, two grid
    workers in 甲一社区's grids), and:
    - community_worker also 社区书记 of 甲一社区 (two posts, one community);
    - ``secretary``: 社区书记 of 甲一社区 and 社区工作者 of 甲二社区 (two communities);
    - 15 more 社区工作者 of 甲一社区; one more, whose account is disabled.
    So 甲一社区 has 17 people, 甲二社区 1, 乙一社区 1, and 东城区 18 (not 20 posts).

    城镇常住人口: 东城区 10,002 (its own figure), 西城区 5,000; 甲一社区 8,000,
    甲二社区 0 (no figure), 乙一社区 none; the streets have no figure of their own."""
    post(city.users.community_worker, Role.COMMUNITY_SECRETARY, community=city.comm_a)
    secretary = UserFactory(username="secretary")
    post(secretary, Role.COMMUNITY_SECRETARY, community=city.comm_a)
    post(secretary, Role.COMMUNITY_WORKER, community=city.comm_a2)
    for i in range(15):
        post(UserFactory(username=f"worker{i}"), Role.COMMUNITY_WORKER, community=city.comm_a)
    gone = UserFactory(username="gone")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    post(gone, Role.COMMUNITY_WORKER, community=city.comm_a)
    for unit, figure in ((city.dongcheng, 10002), (city.xicheng, 5000), (city.comm_a, 8000), (city.comm_a2, 0)):
        unit.urban_population = figure
        unit.save(update_fields=["urban_population"])
    return city


def _by_code(table):
    return {r["code"]: r for r in table["rows"]}


def test_18_people_for_10002_residents_is_17_99_not_met_short_of_1(staffed, login):
    data = login(staffed.users.supervisor).get("/api/v1/reports/staffing/").json()
    assert data["target"] == 18.0 and data["roles"] == ["社区工作者", "社区书记"]
    district = _by_code(data["districts"])["110101"]
    # 18 × 10,000 / 10,002 = 17.9964…: truncated, not rounded up to 18.00.
    assert (district["workers"], district["population"], district["ratio"]) == (18, 10002, 17.99)
    # ceil(18 × 10,002 / 10,000) = ceil(18.0036) = 19 needed.
    assert (district["meets"], district["gap"]) == ("未达标", 1)
    xicheng = _by_code(data["districts"])["110102"]
    # No one for 5,000: 0.00, ceil(9) = 9 short.
    assert (xicheng["workers"], xicheng["ratio"], xicheng["meets"], xicheng["gap"]) == (0, 0.0, "未达标", 9)
    # The city: 18 people for 15,002 → 11.998… → 11.99; ceil(27.0036) = 28 − 18 = 10.
    [city_row] = data["city"]["rows"]
    assert (city_row["code"], city_row["workers"], city_row["population"]) == ("110100", 18, 15002)
    assert (city_row["ratio"], city_row["meets"], city_row["gap"]) == (11.99, "未达标", 10)


def test_one_person_counts_once_and_communities_are_detail(staffed, login):
    data = login(staffed.users.supervisor).get("/api/v1/reports/staffing/").json()
    communities = _by_code(data["communities"])
    # 甲一社区: community_worker (2 posts) + secretary + 15 = 17 for 8,000 → 21.25; ceil(14.4) = 15 → no gap.
    a = communities["110101001001"]
    assert (a["workers"], a["ratio"], a["gap"]) == (17, 21.25, 0)
    assert "meets" not in a  # 达标 is judged for districts and the city only
    # secretary counts in 甲二社区 too; its population of 0 is no figure.
    a2 = communities["110101001002"]
    assert (a2["workers"], a2["population"], a2["ratio"], a2["gap"]) == (1, None, None, None)
    c = communities["110101002001"]
    assert (c["workers"], c["population"], c["ratio"]) == (1, None, None)
    streets = _by_code(data["streets"])
    # 甲街道: 甲一社区's 17, secretary among them, and 甲二社区's secretary again: 17 people;
    # no figure of its own and 甲二社区 has none → 无数据 (not 8,000, a partial sum).
    assert (streets["110101001"]["workers"], streets["110101001"]["ratio"]) == (17, None)
    assert "meets" not in streets["110101001"]


def test_the_page_and_exports_read_no_data_and_the_judged_levels(staffed, login):
    client = login(staffed.users.supervisor)
    tables = page_tables(client.get("/reports/staffing/").content.decode())
    header, *rows = tables["staffing-districts"]
    dongcheng = dict(zip(header, rows[0], strict=True))
    assert (dongcheng["每万城镇常住人口社区工作者"], dongcheng["是否达标"], dongcheng["距目标缺口(人)"]) == (
        "17.99", "未达标", "1")
    header, *rows = tables["staffing-communities"]
    assert "是否达标" not in header
    a2 = dict(zip(header, rows[1], strict=True))
    assert (a2["单位"], a2["每万城镇常住人口社区工作者"], a2["距目标缺口(人)"]) == ("甲二社区", "无数据", "—")
    csv = b"".join(client.get("/reports/staffing/?export=csv").streaming_content).decode("utf-8-sig")
    assert "110101,东城区,10002,18,17.99,未达标,1" in csv.replace("\r", "")
    assert "甲二社区" in csv and ",无数据," in csv


def test_the_counted_roles_are_a_setting(staffed, login, settings):
    settings.STAFFING_ROLES = ["community_worker", "community_secretary", "grid_worker"]  # 专职网格员 count
    data = login(staffed.users.supervisor).get("/api/v1/reports/staffing/").json()
    district = _by_code(data["districts"])["110101"]
    # Two grid workers more: 20 × 10,000 / 10,002 = 19.996 → 19.99, 达标, no gap.
    assert (district["workers"], district["ratio"], district["meets"], district["gap"]) == (20, 19.99, "达标", 0)
    settings.STAFFING_ROLES = ["supervisor"]
    with pytest.raises(ImproperlyConfigured, match="STAFFING_ROLES"):
        staffing_roles()


def test_each_viewer_sees_whole_units_of_their_own(staffed, login):
    # A community worker: their community only — no partial street or district figures.
    data = login(staffed.users.community_worker).get("/api/v1/reports/staffing/").json()
    assert [r["code"] for r in data["communities"]["rows"]] == ["110101001001"]
    assert data["streets"]["rows"] == data["districts"]["rows"] == data["city"]["rows"] == []
    # A district supervisor: the district judged, no city row.
    data = login(staffed.users.district_supervisor).get("/api/v1/reports/staffing/").json()
    assert [r["code"] for r in data["districts"]["rows"]] == ["110101"] and data["city"]["rows"] == []
    assert login(staffed.users.street_officer).get("/reports/staffing/?unit=110101002").status_code == 404


def test_the_page_shows_a_page_of_communities_the_figures_count_them_all(staffed, login, monkeypatch,
                                                                        django_assert_max_num_queries):
    """A city has thousands of communities: the page lists PAGE_SIZE of them (by code) with
    the pages' links; the district and city figures, the export and the API count them all."""
    from governance.reports import tables

    monkeypatch.setattr(tables, "PAGE_SIZE", 2)
    client = login(staffed.users.supervisor)
    client.get("/reports/staffing/")
    with django_assert_max_num_queries(10):
        first = client.get("/reports/staffing/").content.decode()
    page_one = page_tables(first)
    assert [r[0] for r in page_one["staffing-communities"][1:]] == ["110101001001", "110101001002"]
    assert "第 1 / 2 页" in first and "page=2" in first
    page_two = page_tables(client.get("/reports/staffing/?page=2").content.decode())
    assert [r[0] for r in page_two["staffing-communities"][1:]] == ["110101002001"]
    # The district's figure counts every community's people, whichever page is shown.
    header, *rows = page_two["staffing-districts"]
    assert dict(zip(header, rows[0], strict=True))["社区工作者(人)"] == "18"
    csv = b"".join(client.get("/reports/staffing/?page=2&export=csv").streaming_content).decode("utf-8-sig")
    assert all(code in csv for code in ("110101001001", "110101001002", "110101002001"))
    data = client.get("/api/v1/reports/staffing/").json()
    assert len(data["communities"]["rows"]) == 3 and data["communities"]["total"] is None
