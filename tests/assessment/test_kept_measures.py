"""小事不出格、大事不出社区 (issue 15): 不出格率, 不出社区率 and 主动发现, scored from appeals
that went through the services (intake, sign, 上报, 吹哨, 退单 and 派单, resolve, 核查,
evaluation), each figure worked out by hand below and checked at grid, community and
street level; and a patrol appeal changes none of its finder's 响应率, 解决率 or 满意率.

The October scenario (test city: 甲一社区 = grids A1, A2; 甲二社区 = grid B1; all in
甲街道). Every appeal is dispatched automatically on 12 October 09:00 (a category of 72
hours: deadline 15 October 09:00, all in October):

  G  a resident's, grid A1: the grid resolves it, the resident is satisfied.
       不出格 ✓ (A1)   不出社区 ✓ (甲一)
  C  a resident's, grid A1: the grid worker 上报 to the community, which resolves it.
       不出格 ✗ (A1)   不出社区 ✓ (甲一)
  S  a resident's, grid A2: 上报 to the community, which 上报 to the street; the street resolves it.
       不出格 ✗ (A2)   不出社区 ✗ (甲一)
  W  a resident's, grid B1: the street whistles 城管 (吹哨); the grid resolves it.
       不出格 ✗ (B1)   不出社区 ✗ (甲二)
  R  a resident's, grid A1: returned (退单) to the street's dispatch centre, which dispatches
     it to 甲一社区 (elsewhere); the community resolves it.
       leaves both denominators
  P  grid A1's worker on patrol (巡查), grid A1: starts in progress; resolved; 核查 closes it.
       主动发现 1 found, 1 resolved (A1); 主动发现不出格 ✓ (A1); 不出社区 ✓ (甲一)

  unit     不出格率          不出社区率        主动发现不出格率   主动发现/办结
  A1       G/(G,C) = 50.00   —                 P/P = 100.00       1 / 1
  A2       0/S = 0.00        —                 —                  0 / 0
  B1       0/W = 0.00        —                 —                  0 / 0
  甲一      G/(G,C,S) = 33.33 (G,C,P)/(G,C,S,P) = 75.00   100.00   1 / 1
  甲二      0/W = 0.00        0/W = 0.00        —                  0 / 0
  甲街道    G/(G,C,S,W) = 25.00  (G,C,P)/(G,C,S,P,W) = 60.00  100.00  1 / 1
  乙街道, 城管: — everywhere.
"""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appeals import events, services
from appeals.enums import AppealState, DeadlineUnit, Source
from appeals.escalation import appeal_escalate
from governance.assessment.models import MonthlyScore
from governance.assessment.services import compute_month, exclusion_decide, exclusion_request
from governance.enums import Role
from tests.appeals.factories import CategoryFactory
from tests.assessment import fabricate as fab
from tests.factories import UserFactory, post
from tests.reports.conftest import page_tables

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")
OCT = date(2026, 10, 1)
AFTER_CUTOFF = datetime(2026, 11, 20, 12, tzinfo=CHINA)
S = AppealState
D = Decimal


def at(day, hour, minute=0):
    return datetime(2026, 10, day, hour, minute, tzinfo=CHINA)


@pytest.fixture
def clock(monkeypatch):
    """Set the time every service reads (django.utils.timezone.now: event times too)."""
    from django.utils import timezone

    def _set(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return _set


def _category():
    return CategoryFactory(code="01009", name="楼道堆物", resolution_limit=72, resolution_unit=DeadlineUnit.HOURS)


def _resident(building):
    return services.appeal_receive(source=Source.WEB, category=_category(), building=building,
                                   description="楼道堆物影响通行", phone="13812345678", name="王建国")


def _patrol(city, *, phone=""):
    return services.appeal_receive(source=Source.GRID_PATROL, actor=city.users.grid_worker, building=city.building_a1,
                                   category=_category(), description="巡查发现楼道堆物", phone=phone)


def _act(user, appeal, action, **data):
    appeal.refresh_from_db()
    return services.appeal_act(actor=user, appeal=appeal, action=action, **data)


def _grid_worker(grid):
    worker = UserFactory(username=f"worker-{grid.code}")
    post(worker, Role.GRID_WORKER, grid=grid)
    return worker


def _october(city, clock) -> dict:
    """The scenario of the module docstring, through the services."""
    u = city.users
    b1_worker = _grid_worker(city.grid_b1)
    clock(at(12, 9))
    g, c, r = _resident(city.building_a1), _resident(city.building_a1), _resident(city.building_a1)
    s, w = _resident(city.building_a2), _resident(city.building_b1)
    p = _patrol(city)
    assert [a.state for a in (g, c, s, w, r)] == [S.DISPATCHED] * 5 and p.state == S.IN_PROGRESS

    clock(at(12, 10))
    for user, appeal in ((u.grid_worker, g), (u.grid_worker, c), (u.grid_worker2, s), (b1_worker, w)):
        _act(user, appeal, "sign", contact=True)

    clock(at(13, 9))
    appeal_escalate(actor=u.grid_worker, appeal=c, reason="涉及多个楼栋，需社区协调")  # 上报
    appeal_escalate(actor=u.grid_worker2, appeal=s, reason="需社区协调")
    services.appeal_whistle(actor=u.street_officer, appeal=w, departments=[city.chengguan], note="占道堆物")
    services.appeal_return(actor=u.grid_worker, appeal=r, reason="属社区公共区域，非本网格")  # 退单
    clock(at(13, 11))
    services.appeal_dispatch(actor=u.street_officer, appeal=r, unit=city.comm_a, note="派社区办理")
    _act(u.community_worker, r, "sign")
    clock(at(13, 15))
    s.refresh_from_db()
    appeal_escalate(actor=u.community_worker, appeal=s, reason="需街道协调多部门")

    clock(at(14, 9))
    _act(u.grid_worker, g, "resolve", result="已清理")
    _act(u.community_worker, c, "resolve", result="社区协调物业清理")
    _act(u.street_officer, s, "resolve", result="街道协调清理")
    _act(b1_worker, w, "resolve", result="城管协助清理")
    _act(u.community_worker, r, "resolve", result="社区清理")
    _act(u.grid_worker, p, "resolve", result="已清理")
    _act(u.grid_worker, p, "verify_pass", note="现场已清理")
    clock(at(14, 18))
    services.appeal_evaluate(tracking_code=g.tracking_code, phone_last4="5678", solved=True, rating="satisfied")
    for appeal in (g, c, s, w, r, p):
        appeal.refresh_from_db()
    assert p.state == S.CLOSED and g.state == S.CLOSED
    assert (c.handling_level, s.handling_level, r.handling_level) == ("community", "street", "community")
    return {"g": g, "c": c, "s": s, "w": w, "r": r, "p": p}


def _score(kind, code) -> MonthlyScore:
    return MonthlyScore.objects.get(unit_kind=kind, unit_code=code, month=OCT)


def _kept(row):
    return (row.grid_kept, row.grid_resolved, row.kept_in_grid_rate,
            row.community_kept, row.community_resolved, row.kept_in_community_rate,
            row.self_grid_kept, row.self_grid_resolved, row.self_kept_in_grid_rate,
            row.self_found, row.self_found_resolved)


def test_each_scenario_at_grid_community_and_street_level(city, clock):
    _october(city, clock)
    compute_month(month=OCT, now=AFTER_CUTOFF)

    # (不出格 kept, of, rate; 不出社区 kept, of, rate; 主动发现不出格 kept, of, rate; found, resolved)
    assert _kept(_score("grid", city.grid_a1.code)) == (1, 2, D("50.00"), 0, 0, None, 1, 1, D("100.00"), 1, 1)
    assert _kept(_score("grid", city.grid_a2.code)) == (0, 1, D("0.00"), 0, 0, None, 0, 0, None, 0, 0)
    assert _kept(_score("grid", city.grid_b1.code)) == (0, 1, D("0.00"), 0, 0, None, 0, 0, None, 0, 0)
    assert _kept(_score("community", city.comm_a.code)) == (
        1, 3, D("33.33"), 3, 4, D("75.00"), 1, 1, D("100.00"), 1, 1)
    assert _kept(_score("community", city.comm_a2.code)) == (0, 1, D("0.00"), 0, 1, D("0.00"), 0, 0, None, 0, 0)
    assert _kept(_score("street", city.street_a.code)) == (
        1, 4, D("25.00"), 3, 5, D("60.00"), 1, 1, D("100.00"), 1, 1)
    assert _kept(_score("street", city.street_b.code)) == (0, 0, None, 0, 0, None, 0, 0, None, 0, 0)
    assert _kept(_score("department", city.chengguan.code))[2::3] == (None, None, None)
    # The district and the city sum the same: 甲街道's figures, 乙街道 has none.
    assert _kept(_score("district", "110101")) == _kept(_score("city", "110100")) == _kept(
        _score("street", city.street_a.code))
    # The returned and re-dispatched appeal is still due for the community that held it.
    # Due for whoever held it at the deadline: 甲一 holds G, P (grid A1), C and R; S went up to the street.
    assert _score("community", city.comm_a.code).due == 4
    assert _score("street", city.street_a.code).due == 6


def test_a_patrol_appeal_changes_none_of_its_finders_rates(city, clock):
    u = city.users
    clock(at(12, 9))
    first, second = _resident(city.building_a1), _resident(city.building_a1)
    clock(at(12, 10))
    _act(u.grid_worker, first, "sign", contact=True)  # in time
    _act(u.grid_worker, second, "sign")  # the second is never contacted
    clock(at(14, 9))
    _act(u.grid_worker, first, "resolve", result="已清理")
    _act(u.grid_worker, second, "resolve", result="已清理")
    clock(at(14, 18))
    services.appeal_evaluate(tracking_code=first.tracking_code, phone_last4="5678", solved=True, rating="basically")
    services.appeal_evaluate(tracking_code=second.tracking_code, phone_last4="5678", solved=False,
                             rating="satisfied")
    compute_month(month=OCT, now=AFTER_CUTOFF)
    before = _score("grid", city.grid_a1.code)
    # 响应率 1/2, 解决率 1/2, 满意率 (0.9 + 1)/2; composite 100 × (0.05 + 0.25 + 0.38)
    rates = (D("50.00"), D("50.00"), D("95.00"), D("68.00"))
    assert (before.response_rate, before.resolution_rate, before.satisfaction_rate, before.composite) == rates

    # Two patrol appeals by the same grid worker, never contacted: one closed on 核查, one with
    # a resident's mobile, rated 基本满意 (counted, they would move all three rates).
    clock(at(12, 11))
    closed_on_check, with_mobile = _patrol(city), _patrol(city, phone="13812345678")
    clock(at(13, 9))
    _act(u.grid_worker, closed_on_check, "resolve", result="已清理")
    _act(u.grid_worker, closed_on_check, "verify_pass")
    _act(u.grid_worker, with_mobile, "resolve", result="已清理")
    clock(at(13, 18))
    services.appeal_evaluate(tracking_code=with_mobile.tracking_code, phone_last4="5678", solved=True,
                             rating="basically")
    assert compute_month(month=OCT, now=AFTER_CUTOFF, force=True).appeals == 4
    after = _score("grid", city.grid_a1.code)

    assert (after.response_rate, after.resolution_rate, after.satisfaction_rate, after.composite) == rates
    assert (after.dispatched, after.responded_in_time, after.evaluated) == (2, 1, 2)
    # Counted apart, and still due and resolved for the grid.
    assert (after.self_found, after.self_found_resolved, after.due, after.resolved) == (2, 2, 4, 4)
    community = _score("community", city.comm_a.code)
    assert (community.response_rate, community.resolution_rate, community.satisfaction_rate) == rates[:3]


def test_an_unresolved_or_excluded_appeal_is_in_neither_measure(city, clock):
    u = city.users
    clock(at(12, 9))
    resolved, open_one, excluded = (_resident(city.building_a1) for _ in range(3))
    clock(at(13, 9))
    _act(u.grid_worker, resolved, "sign")
    _act(u.grid_worker, resolved, "resolve", result="已清理")
    _act(u.grid_worker, excluded, "sign")
    _act(u.grid_worker, excluded, "resolve", result="已清理")
    request = exclusion_request(actor=u.community_worker, appeal=excluded, reason_kind="repeated", reason="重复诉求")
    exclusion_decide(actor=u.street_officer, exclusion=request, approve=True, now=at(20, 9))
    compute_month(month=OCT, now=AFTER_CUTOFF)
    assert _kept(_score("grid", city.grid_a1.code))[:3] == (1, 1, D("100.00"))
    assert _kept(_score("community", city.comm_a.code))[3:6] == (1, 1, D("100.00"))
    assert (_score("grid", city.grid_a1.code).due, _score("grid", city.grid_a1.code).excluded) == (2, 1)
    assert open_one.state == S.DISPATCHED


def test_reports_exports_and_the_api_show_both_measures(city, clock, login):
    _october(city, clock)
    compute_month(month=OCT, now=AFTER_CUTOFF)
    client = login(city.users.supervisor)
    url = "/reports/?period=2026-10&level=community&sort=unit_code"
    page = page_tables(client.get(url).content.decode())["units-community"]
    header = page[0]
    for label in ("不出格率(%)", "不出社区率(%)", "主动发现不出格率(%)", "主动发现", "主动发现办结"):
        assert label in header
    a = dict(zip(header, page[1], strict=True))
    assert (a["单位"], a["不出格率(%)"], a["不出社区率(%)"], a["主动发现不出格率(%)"]) == (
        "甲一社区", "33.33", "75.00", "100.00")
    assert (a["主动发现"], a["主动发现办结"]) == ("1", "1")
    c = dict(zip(header, page[3], strict=True))
    assert (c["单位"], c["不出格率(%)"], c["不出社区率(%)"]) == ("乙一社区", "—", "—")

    raw = b"".join(client.get(url + "&export=csv").streaming_content)
    assert list(csv.reader(io.StringIO(raw.decode("utf-8-sig")))) == page

    api = client.get("/api/v1/reports/units/?period=2026-10&level=grid&sort=unit_code").json()["table"]["rows"]
    a1 = next(r for r in api if r["unit_code"] == city.grid_a1.code)
    assert (a1["kept_in_grid_rate"], a1["kept_in_community_rate"], a1["self_kept_in_grid_rate"]) == (50.0, None, 100.0)
    assert (a1["self_found"], a1["self_found_resolved"]) == (1, 1)

    departments = page_tables(client.get("/reports/unit/district/110101/?period=2026-10").content.decode())[
        "units-department"]
    d = dict(zip(departments[0], departments[1], strict=True))
    assert (d["单位"], d["不出格率(%)"], d["不出社区率(%)"]) == ("城管", "—", "—")

    unit = client.get(f"/reports/unit/grid/{city.grid_a1.code}/?period=2026-10")
    measures = {m["key"]: m for m in unit.context["report"].measures}
    assert measures["kept_in_grid_rate"]["value"] == D("50.00")
    assert measures["kept_in_grid_rate"]["benchmark"] == D("33.33")  # 甲一社区
    assert measures["kept_in_grid_rate"]["comparison"] == "higher" and not measures["kept_in_grid_rate"]["low"]
    text = unit.content.decode()
    assert "不出格率(%)" in text and "不出社区率(%)" in text
    detail = client.get(f"/api/v1/reports/units/grid/{city.grid_a1.code}/?period=2026-10").json()
    assert (detail["row"]["kept_in_grid_rate"], detail["row"]["self_found"]) == (50.0, 1)
    assert {m["key"]: m["value"] for m in detail["measures"]}["kept_in_grid_rate"] == 50.0


def test_the_composite_leaves_both_measures_out(city, clock):
    _october(city, clock)
    compute_month(month=OCT, now=AFTER_CUTOFF)
    # 甲一社区 holds G and P (grid A1), C and R at their deadline. 响应率: G and C contacted
    # in time, R not (the community signed without a contact), P is 主动发现 → 2/3; 解决率
    # and 满意率: G only, solved and satisfied → 100; 综合得分 100 × (0.1 × 2/3 + 0.5 + 0.4).
    community = _score("community", city.comm_a.code)
    assert (community.response_rate, community.resolution_rate, community.satisfaction_rate) == (
        D("66.67"), D("100.00"), D("100.00"))
    assert community.composite == D("96.67")
    assert (community.kept_in_grid_rate, community.kept_in_community_rate) == (D("33.33"), D("75.00"))


# --- reading the log: appeals.events.handling ------------------------------------------------------


def _dispatch(level, code):
    return events.Dispatch(unit_level=level, unit_code=code)


def _escalate(to, handler=None):
    return events.Escalate(from_level="grid", to_level=to, automatic=True, level_deadline="",
                           handler={"from": ["grid", "g"], "to": list(handler)} if handler else None)


A1, A2, COMM = "110101001001001", "110101001001002", "110101001001"


def test_handling_reads_where_an_appeal_went():
    h = events.handling
    plain = h([_dispatch("grid", A1)])
    assert plain.kept_in_grid and plain.kept_in_community(COMM) and not plain.redispatched_elsewhere
    # The sweep's escalation to the community (automatic): out of the grid, in the community.
    up = h([_dispatch("grid", A1), _escalate("community", ("community", COMM))])
    assert not up.kept_in_grid and up.kept_in_community(COMM)
    # To the district 督办, the handler staying: out of both.
    supervised = h([_dispatch("grid", A1), _escalate("district")])
    assert not supervised.kept_in_grid and not supervised.kept_in_community(COMM)
    # 改派 by the community to another of its grids: handled outside the grid, not the community.
    moved = h([_dispatch("grid", A1), events.Reroute(unit=("A1", "A2"), unit_level="grid", unit_code=A2)])
    assert not moved.kept_in_grid and moved.kept_in_community(COMM)
    to_department = h([_dispatch("grid", A1), events.Reroute(unit=("A1", "城管"), unit_level="department",
                                                               unit_code="110101-CG")])
    assert not to_department.kept_in_community(COMM)
    # A category correction moves nobody.
    recategorised = h([_dispatch("grid", A1), events.Reroute(category=("01001", "01002"))])
    assert recategorised.kept_in_grid
    whistled = h([_dispatch("grid", A1), events.Whistle(departments=("城管",), codes=("110101-CG",))])
    assert not whistled.kept_in_grid and not whistled.kept_in_community(COMM)
    # Returned: back to the same grid stays; to another unit leaves the denominators.
    back = events.Return(queue="street", unit_level="street", unit_code="110101001")
    again = h([_dispatch("grid", A1), back, _dispatch("grid", A1)])
    assert not again.redispatched_elsewhere and again.kept_in_grid
    elsewhere = h([_dispatch("grid", A1), back, _dispatch("community", COMM)])
    assert elsewhere.redispatched_elsewhere and elsewhere.first == events.Unit("grid", A1)


def test_the_tally_pass_costs_no_query_per_appeal(city):
    """The measures are read in the same set-based pass: as many queries for 30 appeals
    as for 3 (on the same days), whatever their paths."""

    def appeals(n):
        deadline = fab.at(2026, 10, 20, 18)
        return [fab.make(place=city.grid_a1, deadline=deadline, events=[
            fab.dispatch(city.grid_a1, fab.at(2026, 10, 13)),
            fab.escalate(fab.at(2026, 10, 14), to_level="community", code=city.comm_a.code,
                         from_code=city.grid_a1.code),
            fab.resolve(fab.at(2026, 10, 15))]) for _ in range(n)]

    def queries():
        with CaptureQueriesContext(connection) as captured:
            compute_month(month=OCT, now=AFTER_CUTOFF, force=True)
        return len(captured)

    fab.fabricate(appeals(3))
    few = queries()
    fab.fabricate(appeals(27))
    assert queries() == few
    community = _score("community", city.comm_a.code)
    assert (community.grid_kept, community.grid_resolved, community.community_kept) == (0, 30, 30)
