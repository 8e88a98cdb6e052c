"""Report pages read stored scores: the same number of queries with 5 or 50 units and
appeals."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.assessment.flows import flows_rebuild
from governance.assessment.services import compute_month
from grids.models import Community, Grid
from tests.assessment.fabricate import at, contact, dispatch, evaluate, fabricate, make, resolve

pytestmark = pytest.mark.django_db

URLS = [
    "/reports/?period=2026-10&level=community",
    "/reports/?period=2026-10&level=grid",
    "/reports/?level=community&from=2026-10-01&to=2026-10-20",
    "/reports/unit/street/110101001/?period=2026-10",
    "/reports/unit/community/110101001001/?period=2026-10",
    # Issue 23: the city's page and the hot spots sum the daily flows; the grids' quarter.
    "/reports/unit/city/110100/?period=2026-10",
    "/reports/hotspots/?period=2026Q4",
    "/reports/?level=grid&period=2026Q4",
    "/reports/supervision/",
    "/reports/hotspots/?period=2026-10",
    "/reports/staffing/",
    "/api/v1/reports/units/?period=2026-10&level=grid",
]


def _grow(city, n: int, *, start: int = 0) -> None:
    """n more communities (one grid each) in 甲街道, each with two appeals in October."""
    specs = []
    for i in range(start, start + n):
        community = Community.objects.create(street=city.street_a, code=f"110101001{100 + i:03d}", name=f"新{i}社区",
                                             population=3000)
        grid = Grid.objects.create(community=community, code=f"{community.code}001", name="第一网格")
        for day in (3, 5):
            specs.append(make(place=grid, deadline=at(2026, 10, day + 7), events=[
                dispatch(grid, at(2026, 10, day, 9)), contact(at(2026, 10, day, 10)),
                resolve(at(2026, 10, day + 1)), evaluate(at(2026, 10, day + 2)),
            ]))
    fabricate(specs)
    # force: October is final after the first call, and the new communities need their rows.
    compute_month(month=date(2026, 10, 1), now=at(2026, 11, 20), force=True)
    # The flows as of another day each time: what is grouped from them is kept for the day
    # (hotspots._repeats), and the counts compared are those of a page built afresh.
    day = date(2026, 11, 20 + start // 5)
    flows_rebuild(first=date(2026, 10, 1), last=day, now=at(day.year, day.month, day.day), chunk_days=31)


def _counts(client) -> list[int]:
    counts = []
    for url in URLS:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200, url
        counts.append(len(ctx.captured_queries))
    return counts


def test_queries_do_not_grow_with_units_or_appeals(city, login, django_assert_max_num_queries):
    client = login(city.users.supervisor)
    _grow(city, 5)
    small = _counts(client)
    _grow(city, 45, start=5)
    large = _counts(client)
    assert large == small, list(zip(URLS, small, large, strict=True))
    for url in URLS:
        with django_assert_max_num_queries(30):
            client.get(url)
