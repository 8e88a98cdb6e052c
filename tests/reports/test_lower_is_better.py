"""返工率 — and any measure where less is better — the right way round (issue 13, item 3):
red when high in the heat table, worst first when sorted, "高于上级" in red on the unit
page when it is higher than the parent's.

The scenario goes through the appeals services (intake, sign-for, 办结, the resident's
unsatisfied evaluation, 办结 again) and the real scoring service.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from appeals import services as appeal_services
from appeals.enums import AppealState, Rating
from governance.assessment import services as scoring
from governance.assessment.enums import MEASURE_BY_KEY, MEASURES
from governance.assessment.periods import deadline_day
from tests.appeals.factories import grid_category, receive
from tests.reports.conftest import page_tables

pytestmark = pytest.mark.django_db


def _handled(city, *, building, worker, reworked: bool):
    """An appeal received at ``building``, dispatched to its grid, resolved by ``worker``;
    ``reworked``: the resident was unsatisfied once (返工) and it was resolved again."""
    appeal = receive(city, category=grid_category(), building=building)
    appeal_services.appeal_act(actor=worker, appeal=appeal, action="sign", contact=True)
    appeal = appeal_services.appeal_act(actor=worker, appeal=appeal, action="resolve", result="已处理")
    if reworked:
        appeal = appeal_services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4="5678",
                                                 solved=False, rating=Rating.UNSATISFIED)
        assert appeal.state == AppealState.IN_PROGRESS
        appeal = appeal_services.appeal_act(actor=worker, appeal=appeal, action="resolve", result="已返工处理")
    return appeal


@pytest.fixture
def reworked_october(city):
    """Grid A1 (第一网格): 3 appeals resolved, 2 of them after a rework → 返工率 2/3 = 66.67 %.
    Grid A2 (第二网格): 14 resolved, 5 after a rework → 5/14 = 35.71 %.
    Their community 甲一社区: 17 resolved, 7 reworked → 7/17 = 41.18 %.
    Scored for the month of their deadline, after it."""
    appeals = []
    for i in range(3):
        appeals.append(_handled(city, building=city.building_a1, worker=city.users.grid_worker, reworked=i < 2))
    for i in range(14):
        appeals.append(_handled(city, building=city.building_a2, worker=city.users.grid_worker2, reworked=i < 5))
    deadlines = {a.deadline for a in appeals}
    months = {deadline_day(d).replace(day=1) for d in deadlines}
    assert len(months) == 1, "received within seconds: one deadline month"
    month = months.pop()
    scoring.compute_month(month=month, now=max(deadlines) + timedelta(hours=1))
    return f"period={month:%Y-%m}"


def test_the_registry_says_which_way_is_better_once():
    assert [m.key for m in MEASURES if m.lower_is_better] == ["rework_rate"]
    rework = MEASURE_BY_KEY["rework_rate"]
    assert rework.worse(Decimal("66.67"), Decimal("41.18")) is True
    assert MEASURE_BY_KEY["resolution_rate"].worse(Decimal("66.67"), Decimal("41.18")) is False
    assert rework.goodness(Decimal("0.00")) == Decimal("100.00")  # no rework: the best colour


def test_a_grid_reworking_more_than_its_community_reads_higher_in_red(city, reworked_october, login):
    client = login(city.users.community_worker)
    page = client.get(f"/reports/unit/grid/{city.grid_a1.code}/?{reworked_october}")
    assert page.status_code == 200
    measures = {m["key"]: m for m in page.context["report"].measures}
    rework = measures["rework_rate"]
    assert (rework["value"], rework["benchmark"]) == (Decimal("66.67"), Decimal("41.18"))
    assert rework["comparison"] == "higher" and rework["low"] is True
    html = page.content.decode()
    assert '<span class="badge bad">高于上级</span>' in html
    assert "低于上级" not in html.split("返工率(%)")[1].split("</tr>")[0]
    # The other grid reworks less than the community: lower, and that is good (green).
    other = client.get(f"/reports/unit/grid/{city.grid_a2.code}/?{reworked_october}")
    rework = {m["key"]: m for m in other.context["report"].measures}["rework_rate"]
    assert (rework["value"], rework["comparison"], rework["low"]) == (Decimal("35.71"), "lower", False)
    row = other.content.decode().split("返工率(%)")[1].split("</tr>")[0]
    assert '<span class="badge ok">低于上级</span>' in row
    # The API says the same.
    data = client.get(f"/api/v1/reports/units/grid/{city.grid_a1.code}/?{reworked_october}").json()
    api = {m["key"]: m for m in data["measures"]}["rework_rate"]
    assert (api["value"], api["comparison"], api["low"], api["lower_is_better"]) == (66.67, "higher", True, True)


def test_the_worst_reworking_grid_sorts_first_and_is_red_in_the_heat_table(city, reworked_october, login):
    client = login(city.users.community_worker)
    page = client.get(f"/reports/?{reworked_october}&level=grid")
    html = page.content.decode()
    # The 返工率 header's first click lists the worst (the highest) first.
    assert 'sort=-rework_rate">返工率(%)</a>' in html
    assert 'sort=closure_rate">结案率(%)' in html  # a higher-is-better measure: ascending
    by_rework = client.get(f"/reports/?{reworked_october}&level=grid&sort=-rework_rate")
    rows = page_tables(by_rework.content.decode())["units-grid"]
    header = rows[0]
    assert [dict(zip(header, r, strict=True))["返工率(%)"] for r in rows[1:]] == ["66.67", "35.71"]
    assert [r[4] for r in rows[1:]] == [city.grid_a1.code, city.grid_a2.code]
    # Heat table: 66.67 % reworked sits at 33.33 on the worst(0)–best(100) colour scale,
    # 35.71 % at 64.29; a high resolution rate stays green (its own value).
    heat = by_rework.context["charts"]["heat"]
    x = heat["measures"].index("返工率(%)")
    cells = {(c[0], c[1]): c for c in heat["cells"]}
    assert heat["lower_is_better"][x] is True
    assert cells[(x, 0)][2:] == [pytest.approx(33.33), 66.67]
    assert cells[(x, 1)][2:] == [pytest.approx(64.29), 35.71]
    resolution = heat["measures"].index("结案率(%)")
    assert cells[(resolution, 0)][2] == cells[(resolution, 0)][3]
