"""The visits report (入户走访, issue 22; issue 24: one unit at a time): the viewer's unit,
its totals and its units one level down (city → districts → streets → communities →
grids), each drilling down; a page of them at a time; 404 outside the jurisdiction; the
export keeps every level under the unit; the queries do not grow with the units."""

from datetime import date, datetime, time
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from appeals.models import Visit
from governance.assessment.formulas import rate
from governance.assessment.periods import period_from_params
from governance.enums import Role
from governance.models import Post
from governance.reports import tables
from governance.reports import visits as report
from governance.staff.selectors import jurisdiction_for
from grids.models import Grid, Household
from tests.factories import BuildingFactory, HouseholdFactory, default_visit_rules
from tests.reports.conftest import page_tables

pytestmark = pytest.mark.django_db

PERIOD = "2026-11"
URL = reverse("reports:visits")


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10)))


def _visit(household, grid, day: date, worker) -> None:
    Visit.objects.create(household=household, territory_code=grid.code, visited_at=_aware(day), visitor=worker,
                         visitor_label="网格员", method="home", counts_done=True)


@pytest.fixture
def visited(city):
    """November 2026: 王建国 (甲一社区第一网格, 独居老人: weekly) owes the 5 weeks ending in
    November and was visited in two of them; 钱伟 (乙一社区第一网格, 低保: monthly) owes one
    visit and had it. So 甲一社区 5/2, 甲街道 5/2 (40.00), 乙街道 1/1 (100.00), 东城区 and the
    city 6/3 (50.00); 西城区 0."""
    default_visit_rules()
    Household.objects.filter(pk__in=[city.household_a1.pk, city.household_c1.pk]).update(
        created_at=_aware(date(2026, 9, 1)))
    Household.objects.filter(pk=city.household_c1.pk).update(care_tags="subsistence")
    for day in (date(2026, 11, 3), date(2026, 11, 12)):
        _visit(city.household_a1, city.grid_a1, day, city.users.grid_worker)
    _visit(city.household_c1, city.grid_c1, date(2026, 11, 20), city.users.grid_worker)
    return city


def _page(client, **query):
    response = client.get(f"{URL}?{urlencode({'period': PERIOD, **query})}")
    assert response.status_code == 200
    return response.content.decode()


def _figures(rows):
    """(name, due, on_time, rate) of each body row of a page's table."""
    return [(r[1], r[2], r[3], r[4]) for r in rows[1:]]


@pytest.mark.parametrize("role, name, level, children", [
    ("supervisor", "全市", "district", ["东城区", "西城区"]),
    ("district_supervisor", "东城区", "street", ["甲街道", "乙街道"]),
    ("street_officer", "甲街道", "community", ["甲一社区", "甲二社区"]),
    ("community_worker", "甲一社区", "grid", ["第一网格", "第二网格"]),
])
def test_each_viewer_sees_his_unit_and_the_level_below(visited, login, role, name, level, children):
    found = page_tables(_page(login(getattr(visited.users, role))))
    assert found["visits-total"][1][1] == name
    assert [r[1] for r in found[f"visits-{level}"][1:]] == children
    assert set(found) == {"visits-total", f"visits-{level}"}  # one level, never every grid of the city


def test_a_grid_worker_sees_his_grid_alone(visited, login):
    found = page_tables(_page(login(visited.users.grid_worker)))
    assert _figures(found["visits-total"]) == [("甲一社区第一网格", "5", "2", "40.00")]
    assert set(found) == {"visits-total"}


def test_the_figures_at_each_level(visited, login):
    client = login(visited.users.supervisor)
    city = page_tables(_page(client))
    assert _figures(city["visits-total"]) == [("全市", "6", "3", "50.00")]
    assert _figures(city["visits-district"]) == [("东城区", "6", "3", "50.00"), ("西城区", "0", "0", "—")]
    district = page_tables(_page(client, unit=visited.dongcheng.code))
    assert _figures(district["visits-street"]) == [("甲街道", "5", "2", "40.00"), ("乙街道", "1", "1", "100.00")]


def test_drilling_down_from_the_city_to_a_grid(visited, login):
    client = login(visited.users.supervisor)
    html = _page(client)
    for code, name in ((visited.dongcheng.code, "东城区"), (visited.street_a.code, "甲街道"),
                       (visited.comm_a.code, "甲一社区"), (visited.grid_a1.code, "第一网格")):
        link = f"{URL}?unit={code}&amp;period={PERIOD}"
        assert f'<a href="{link}">{name}</a>' in html  # the child's name links to its page
        html = _page(client, unit=code)
        assert page_tables(html)["visits-total"][1][0] == code
    # The way back up: the grid's page links to its community.
    assert f'href="{URL}?unit={visited.comm_a.code}&amp;period={PERIOD}"' in html
    # …and a district's to the city (its page without a unit).
    assert f'href="{URL}?period={PERIOD}"' in _page(client, unit=visited.dongcheng.code)


@pytest.mark.parametrize("role, unit", [
    ("street_officer", "110101002"),  # 乙街道: the district's other street
    ("street_officer", "110101"),  # his own district, above him
    ("community_worker", "110101001002"),  # 甲二社区
    ("community_worker", "110101001002001"),  # a grid of 甲二社区
    ("grid_worker", "110101001001002"),  # the neighbouring grid
    ("district_supervisor", "110102"),  # 西城区
    ("supervisor", "110199"),  # no such district
    ("supervisor", "110101001001009"),  # no such grid
    ("supervisor", "1101"),  # not a unit's code
])
def test_a_unit_outside_the_jurisdiction_or_unknown_is_404(visited, login, role, unit):
    client = login(getattr(visited.users, role))
    assert client.get(f"{URL}?period={PERIOD}&unit={unit}").status_code == 404
    assert client.get(f"{URL}?period={PERIOD}&unit={unit}&export=csv").status_code == 404


def test_the_way_up_stops_at_the_viewers_own_unit(visited, login):
    html = _page(login(visited.users.street_officer))
    assert f"unit={visited.dongcheng.code}&" not in html and "‹ 东城区" not in html
    html = _page(login(visited.users.supervisor), unit=visited.street_a.code)
    assert f'href="{URL}?unit={visited.dongcheng.code}&amp;period={PERIOD}">‹ 东城区</a>' in html


@pytest.mark.parametrize("unit", ["", "110101", "110101001", "110101002", "110101001001"])
def test_the_totals_are_the_sum_of_the_units_below(visited, unit):
    period = period_from_params({"period": PERIOD})
    found = report.visit_report(jurisdiction=jurisdiction_for(visited.users.supervisor), period=period, unit=unit)
    total = found.totals.rows[0]
    rows = found.children.rows
    assert total["due"] > 0
    for key in ("due", "on_time", "found"):
        assert total[key] == sum(r[key] for r in rows), key
    assert total["rate"] == rate(sum(r["on_time"] for r in rows), sum(r["due"] for r in rows))


def test_the_units_below_are_paged(visited, login, monkeypatch):
    monkeypatch.setattr(tables, "PAGE_SIZE", 1)
    client = login(visited.users.community_worker)
    first = _page(client)
    assert [r[1] for r in page_tables(first)["visits-grid"][1:]] == ["第一网格"]
    assert "第 1 / 2 页" in first and "page=2" in first
    assert "共 2 个网格" in first
    second = _page(client, page=2)
    assert [r[1] for r in page_tables(second)["visits-grid"][1:]] == ["第二网格"]
    # The totals are the unit's, whatever the page.
    assert _figures(page_tables(second)["visits-total"]) == [("甲一社区", "5", "2", "40.00")]
    assert [r[1] for r in page_tables(_page(client, page=9))["visits-grid"][1:]] == ["第二网格"]  # the last


def test_the_export_keeps_every_level_under_the_unit(visited, login):
    client = login(visited.users.supervisor)
    csv = b"".join(client.get(f"{URL}?period={PERIOD}&export=csv").streaming_content).decode()
    for title in ("全市合计", "各区入户走访", "各街道入户走访", "各社区入户走访", "各网格入户走访"):
        assert title in csv
    assert csv.count("110101001001001") == 1 and "乙一社区" in csv and "所属社区" in csv
    street = client.get(f"{URL}?period={PERIOD}&unit={visited.street_a.code}&export=csv")
    text = b"".join(street.streaming_content).decode()
    assert "甲街道合计" in text and "甲一社区" in text and "乙一社区" not in text and "各区入户走访" not in text
    xlsx = client.get(f"{URL}?period={PERIOD}&unit={visited.street_a.code}&export=xlsx")
    assert xlsx.status_code == 200


def test_the_page_costs_the_same_for_many_grids(visited, login, django_assert_max_num_queries):
    Grid.objects.bulk_create([Grid(community=visited.comm_a, code=f"{visited.comm_a.code}{n:03d}", name=f"第{n}网格")
                              for n in range(100, 350)])
    for n in (100, 200, 300):
        grid = Grid.objects.get(code=f"{visited.comm_a.code}{n:03d}")
        HouseholdFactory(building=BuildingFactory(grid=grid, code=f"{grid.code}0001"), care_tags="elderly_alone")
    for role, unit in (("supervisor", ""), ("supervisor", visited.comm_a.code), ("community_worker", "")):
        client = login(getattr(visited.users, role))
        _page(client, unit=unit)  # warm the session
        with django_assert_max_num_queries(12):  # measured: 10 to 11
            html = _page(client, unit=unit)
        assert html.count("<tr>") <= tables.PAGE_SIZE + 3
    # The community of 252 grids: 100 a page.
    assert "第 1 / 3 页" in _page(login(visited.users.community_worker))


def test_a_viewer_with_two_posts_chooses_between_his_units(visited, login):
    """A community worker posted to 甲一社区 and 甲二社区 opens the first and is offered both;
    the second opens from its link; a viewer with one post is offered nothing."""
    worker = visited.users.community_worker
    Post.objects.create(user=worker, role=Role.COMMUNITY_WORKER, community=visited.comm_a2)
    client = login(worker)
    html = _page(client)
    assert page_tables(html)["visits-total"][1][0] == visited.comm_a.code
    chooser = html[html.index('class="unit-chooser"'):html.index("</nav>", html.index('class="unit-chooser"'))]
    assert f'href="{URL}?unit={visited.comm_a.code}&amp;period={PERIOD}" aria-current="page">甲一社区</a>' in chooser
    assert f'href="{URL}?unit={visited.comm_a2.code}&amp;period={PERIOD}">甲二社区</a>' in chooser
    assert page_tables(_page(client, unit=visited.comm_a2.code))["visits-total"][1][1] == "甲二社区"
    assert "unit-chooser" not in _page(login(visited.users.street_officer))
