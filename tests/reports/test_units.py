"""Unit tables and unit pages: the figures equal the hand-computed ones (conftest.scored),
ranks and their change, the worst first, drill-down, custom ranges, scope."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from governance.assessment.models import COUNTERS, DailyTally
from tests.reports.conftest import page_tables

pytestmark = pytest.mark.django_db

OCT = "period=2026-10"


def _rows(response, key):
    return {r[4]: r for r in page_tables(response.content.decode())[key][1:]}  # by unit code


def test_month_table_shows_the_hand_computed_figures(city, scored, login):
    response = login(city.users.supervisor).get(f"/reports/?{OCT}&level=community")
    assert response.status_code == 200
    rows = _rows(response, "units-community")
    header = page_tables(response.content.decode())["units-community"][0]
    a = dict(zip(header, rows["110101001001"], strict=True))
    assert a["单位"] == "甲一社区"
    assert (a["综合得分"], a["响应率(%)"], a["解决率(%)"], a["满意率(%)"]) == ("91.33", "33.33", "100.00", "95.00")
    assert (a["结案率(%)"], a["按期结案率(%)"], a["返工率(%)"]) == ("66.67", "33.33", "0.00")
    assert (a["应办结"], a["办结"], a["按期办结"], a["参评"]) == ("3", "2", "1", "2")
    # The rank reads with its peer group (issue 19): within the street, 1 of 2 ranked.
    assert (a["排名"], a["参与排名数"], a["名次变化"], a["街道"]) == ("街道内 1/2", "2", "↑1", "甲街道")
    b = dict(zip(header, rows["110101001002"], strict=True))
    assert (b["综合得分"], b["解决率(%)"], b["满意率(%)"], b["结案率(%)"]) == ("55.00", "50.00", "50.00", "50.00")
    assert (b["排名"], b["名次变化"]) == ("街道内 2/2", "↓1")
    c = dict(zip(header, rows["110101002001"], strict=True))
    assert (c["综合得分"], c["排名"], c["应办结"]) == ("—", "—", "0")  # shown, not ranked


def test_the_worst_community_in_two_clicks_and_why(city, scored, login):
    client = login(city.users.supervisor)
    home = client.get("/")
    assert 'href="/reports/"' in home.content.decode()  # click 1: 报表
    page = client.get(f"/reports/?{OCT}")  # communities, the worst first by default
    table = page_tables(page.content.decode())["units-community"]
    assert [r[3] for r in table[1:]] == ["甲二社区", "甲一社区", "乙一社区"]  # unranked last
    worst = page.context["table"].links[0]["unit_name"]
    assert worst == "/reports/unit/community/110101001002/?period=2026-10"
    unit = client.get(worst)  # click 2: why
    assert unit.status_code == 200
    measures = {m["key"]: m for m in unit.context["report"].measures}
    assert measures["resolution_rate"]["value"] == Decimal("50.00") and measures["resolution_rate"]["low"]
    assert measures["response_rate"]["low"] is False  # 100 % ≥ the street's
    problems = page_tables(unit.content.decode())["problems"]
    assert len(problems) == 2  # header + the unsatisfied, reworked appeal
    assert "不满意" in problems[1][-1] and "返工1次" in problems[1][-1]
    code = scored[3].tracking_code
    assert f'href="/appeals/{code}/"' in unit.content.decode()
    categories = page_tables(unit.content.decode())["categories"]
    # Its flows in October by category (the fabricated history has no receive events):
    # two dispatches, two resolutions, one closed, one unsatisfied evaluation sending it
    # back (返工), and that appeal still overdue at the end of the month.
    assert categories[0][:4] == ["类别编码", "类别", "受理", "派单"] and categories[0][-1] == "期末超期"
    assert categories[1] == ["01001", "暴露垃圾", "0", "2", "2", "1", "0", "1", "1", "1"]  # B1 overdue since 10-10
    assert "数据截至" in unit.content.decode()
    # Drill down: the community's grids.
    grids = page_tables(unit.content.decode())["units-grid"]
    assert [r[4] for r in grids[1:]] == ["110101001002001"]


def test_sorting_is_server_side_and_validated(city, scored, login):
    client = login(city.users.supervisor)
    best_first = client.get(f"/reports/?{OCT}&level=community&sort=-composite")
    assert [r["unit_code"] for r in best_first.context["table"].rows][:2] == ["110101001001", "110101001002"]
    by_name = client.get(f"/reports/?{OCT}&level=community&sort=unit_code")
    assert [r["unit_code"] for r in by_name.context["table"].rows] == ["110101001001", "110101001002", "110101002001"]
    bad = client.get(f"/reports/?{OCT}&level=community&sort=password")
    assert bad.status_code == 400 and "无法按" in bad.content.decode()
    assert client.get("/reports/?period=2026-13").status_code == 400


def test_custom_range_is_summed_from_the_daily_tallies(city, scored, login):
    client = login(city.users.supervisor)
    response = client.get("/api/v1/reports/units/?level=community&from=2026-10-01&to=2026-10-10&sort=unit_code")
    assert response.status_code == 200
    rows = {r["unit_code"]: r for r in response.json()["table"]["rows"]}
    # Only A1 (甲一社区) and B1 (甲二社区) fall due by 10-10.
    a = rows["110101001001"]
    assert (a["due"], a["evaluated"], a["composite"], a["response_rate"]) == (1, 1, 100.0, 100.0)
    sums = DailyTally.objects.filter(
        unit_kind="community", unit_code="110101001002", day__gte="2026-10-01", day__lte="2026-10-10"
    ).aggregate(**{n: Sum(n) for n in COUNTERS})
    b = rows["110101001002"]
    assert b["due"] == sums["due"] == 1 and b["evaluated"] == sums["evaluated"] == 1
    assert b["resolution_rate"] == 0.0 and b["satisfaction_rate"] == 0.0 and b["composite"] == 10.0
    # The page shows the same.
    page = client.get("/reports/?level=community&from=2026-10-01&to=2026-10-10")
    header = page_tables(page.content.decode())["units-community"][0]
    assert dict(zip(header, _rows(page, "units-community")["110101001002"], strict=True))["综合得分"] == "10.00"


def test_api_unit_detail_matches_the_page(city, scored, login):
    client = login(city.users.district_supervisor)
    data = client.get("/api/v1/reports/units/street/110101001/?period=2026-10").json()
    assert data["name"] == "甲街道" and data["row"]["due"] == 5
    # 5 appeals: responded 3/5, solved 3/4, satisfied (2 + 0.9)/4
    assert data["row"]["response_rate"] == 60.0 and data["row"]["resolution_rate"] == 75.0
    assert data["row"]["satisfaction_rate"] == 72.5
    assert [r["unit_code"] for r in data["children"]["rows"]] == ["110101001002", "110101001001"]
    assert data["trend"]["months"][-1] == "2026-10" and data["trend"]["composite"][-2] is not None


def test_a_community_worker_sees_only_their_community(city, scored, login):
    client = login(city.users.outsider)  # community worker of 乙一社区
    assert client.get(f"/reports/unit/community/110101001001/?{OCT}").status_code == 404
    assert client.get(f"/reports/unit/street/110101001/?{OCT}").status_code == 404
    assert client.get(f"/api/v1/reports/units/community/110101001001/?{OCT}").status_code == 404
    assert client.get(f"/reports/?{OCT}&level=street").status_code == 404  # above their reach
    own = client.get(f"/reports/unit/community/110101002001/?{OCT}")
    assert own.status_code == 200
    # Its own tables list only its units.
    grids = client.get(f"/reports/?{OCT}").context["table"].rows
    assert {r["unit_code"][:12] for r in grids} == {"110101002001"}
    # A volunteer (no post) has no reports: told so (403), nothing to hide.
    assert login(city.users.volunteer).get("/reports/").status_code == 403


def test_nav_link_only_for_report_readers(city, login):
    assert "/reports/" in login(city.users.street_officer).get("/").content.decode()
    assert "/reports/" not in login(city.users.volunteer).get("/").content.decode()


def test_home_card_shows_this_months_scores_and_overdue(city, login):
    from django.utils import timezone

    from governance.assessment.services import compute_month

    compute_month(month=timezone.localdate().replace(day=1))
    response = login(city.users.community_worker).get("/")
    card = response.context["report_card"]
    assert [u["code"] for u in card["scores"]] == ["110101001001"]
    assert card["scores"][0]["score"] is not None and card["overdue"] == 0
    assert "本月考核" in response.content.decode()
    assert "汇总数据尚未生成" in response.content.decode()  # the flows never refreshed yet


def test_home_card_overdue_is_the_flows_running_sum(city, login):
    from datetime import timedelta

    from django.utils import timezone

    from appeals.models import Appeal
    from appeals.selectors import overdue_q
    from governance.assessment.flows import flows_refresh_recent
    from tests.assessment.fabricate import contact, dispatch, fabricate, make

    now = timezone.now()
    fabricate([make(place=grid, deadline=now - timedelta(days=days), events=[
        dispatch(grid, now - timedelta(days=days + 2)), contact(now - timedelta(days=days + 1))])
        for grid, days in ((city.grid_a1, 1), (city.grid_a2, 0.5), (city.grid_c1, 1))])
    flows_refresh_recent(now=now + timedelta(seconds=1))
    response = login(city.users.community_worker).get("/")  # 甲一社区: grids A1 and A2
    card = response.context["report_card"]
    assert card["overdue"] == Appeal.objects.filter(overdue_q(now), community_id=city.comm_a.code).count() == 2
    assert card["as_of"] is not None and "数据截至" in response.content.decode()


def test_departments_are_ranked_for_supervisors_only(city, scored, login):
    supervisor = login(city.users.district_supervisor)
    response = supervisor.get("/reports/?period=2026-10&level=department")
    assert [r["unit_code"] for r in response.context["table"].rows] == ["110101-CG"]
    refused = login(city.users.department_handler).get("/reports/")
    assert refused.status_code == 403 and "部门的指标见工作台" in refused.content.decode()
    assert login(city.users.community_worker).get("/reports/?level=department").status_code == 404


def test_a_unit_pages_category_sums_are_read_once_per_refresh_of_the_flows(city, scored, login,
                                                                            django_assert_max_num_queries):
    """The category table sums the unit's daily flows back to their first day (the overdue
    stock): kept in the shared cache under the flows' token, so a second view reads no
    flows and shows the same table; a refresh of the flows (a new token) reads them again."""
    from datetime import date, timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from governance.assessment.flows import flows_rebuild
    from tests.reports.conftest import NOW

    client = login(city.users.supervisor)
    url = f"/reports/unit/street/110101001/?{OCT}"

    def categories():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        flows_read = any("assessment_dailyflow" in q["sql"] for q in ctx.captured_queries)
        return page_tables(response.content.decode())["categories"], flows_read

    first, read = categories()
    # 甲街道's five October appeals (conftest.scored): five dispatched, four resolved, three closed.
    assert read and first[1] == ["01001", "暴露垃圾", "0", "5", "4", "3", "0", "1", "1", "3"]
    with django_assert_max_num_queries(30):
        again, read = categories()
    assert again == first and not read
    # A refresh (here the rebuild up to the same day, five minutes later) renews the token.
    flows_rebuild(first=date(2026, 11, 20), last=date(2026, 11, 20), now=NOW + timedelta(minutes=5))
    after, read = categories()
    assert read and after == first
