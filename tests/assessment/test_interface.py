"""Running the scoring (command, task), the report selector's scope, and the real
workflow's event log read end to end."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from appeals import services as appeal_services
from governance.assessment import services
from governance.assessment.models import MonthlyScore
from governance.assessment.periods import Period, deadline_day
from governance.assessment.selectors import scores_for
from governance.assessment.tasks import compute_scores
from governance.kernel.errors import ApplicationError, Conflict, NotFound
from governance.staff.selectors import jurisdiction_for
from tests.appeals.factories import event_department_category, grid_category, receive
from tests.assessment.fabricate import at, contact, dispatch, evaluate, fabricate, make, resolve
from tests.assessment.test_scoring import snapshot

OCT = date(2026, 10, 1)


def _october(city):
    deadline = at(2026, 10, 20, 18)
    fabricate([
        make(place=city.grid_a1, deadline=deadline, events=[
            dispatch(city.grid_a1, at(2026, 10, 13)), contact(at(2026, 10, 13, 13)), resolve(at(2026, 10, 15)),
            evaluate(at(2026, 10, 16), rating="satisfied")]),
        make(place=city.grid_c1, deadline=deadline, events=[
            dispatch(city.grid_c1, at(2026, 10, 13)), resolve(at(2026, 10, 22)),
            evaluate(at(2026, 10, 23), rating="basically")]),
        make(place=city.grid_b1, deadline=deadline, events=[dispatch(city.chengguan, at(2026, 10, 13))]),
    ])


@pytest.mark.django_db
def test_the_command_computes_a_month_and_prints_the_figures(city):
    _october(city)
    out = StringIO()
    call_command("compute_scores", month="2026-10", stdout=out)
    text = out.getvalue()
    assert "2026-10 已定稿" in text and "应办结 3" in text and "结案率 66.67%" in text
    # Both resolved appeals stayed in their grids; the department's is not resolved.
    assert "不出格率 100.00%" in text and "不出社区率 100.00%" in text and "主动发现 0 件" in text
    first = snapshot()
    out = StringIO()
    call_command("compute_scores", month="2026-10", stdout=out)  # twice: the same rows
    assert "已定稿（未改动）" in out.getvalue() and snapshot() == first
    call_command("compute_scores", month="2026-10", force=True, stdout=StringIO())
    assert snapshot() == first
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("compute_scores", month="2026/10", stdout=StringIO())


@pytest.mark.django_db
def test_the_command_computes_every_month(city):
    _october(city)
    out = StringIO()
    call_command("compute_scores", all_months=True, stdout=out)
    this_month = timezone.localdate().replace(day=1)
    assert MonthlyScore.objects.filter(month=OCT, final=True).exists()
    assert MonthlyScore.objects.filter(month=this_month).exists()
    assert "2026-10" in out.getvalue()


@pytest.mark.django_db
def test_the_task_runs_twice_with_the_same_result(city):
    _october(city)
    assert compute_scores.delay(month="2026-10").get()[0]["appeals"] == 3
    first = snapshot()
    assert compute_scores.delay(month="2026-10").get()[0]["skipped"]
    assert snapshot() == first
    # Without a month: last month until final, then this month to date.
    runs = compute_scores.delay().get()
    this_month = timezone.localdate().replace(day=1)
    assert runs[-1]["month"] == f"{this_month:%Y-%m}"
    again = compute_scores.delay().get()
    assert [r["month"] for r in again] == [f"{this_month:%Y-%m}"]  # last month is final now
    assert MonthlyScore.objects.get(unit_kind="city", unit_code="110100", month=this_month).month_to_date


@pytest.mark.django_db
def test_scores_for_is_scoped_by_jurisdiction(city):
    _october(city)
    services.compute_month(month=OCT, now=at(2026, 11, 6))
    users, october = city.users, Period.month(2026, 10)

    def codes(user, level, parent=None):
        table = scores_for(jurisdiction=jurisdiction_for(user), period=october, level=level, parent_code=parent)
        return sorted(r.unit_code for r in table.rows)

    # The outsider (乙一社区) asking for 甲一社区's grids: it does not exist for them.
    with pytest.raises(NotFound):
        codes(users.outsider, "grid", city.comm_a.code)
    with pytest.raises(NotFound):
        codes(users.street_officer, "community", city.street_b.code)
    assert codes(users.community_worker, "grid", city.comm_a.code) == [city.grid_a1.code, city.grid_a2.code]
    assert codes(users.grid_worker, "grid") == [city.grid_a1.code]
    assert codes(users.outsider, "grid") == [city.grid_c1.code]
    assert codes(users.community_worker, "street") == []  # above their reach
    assert codes(users.street_officer, "community") == [city.comm_a.code, city.comm_a2.code]
    assert codes(users.district_supervisor, "department") == [city.chengguan.code]
    assert codes(users.department_handler, "department") == [city.chengguan.code]
    assert codes(users.street_officer, "department") == []
    assert codes(users.supervisor, "city") == ["110100"]
    assert codes(users.district_supervisor, "street", "110101") == [city.street_a.code, city.street_b.code]

    table = scores_for(jurisdiction=jurisdiction_for(users.supervisor), period=october, level="street")
    street_b = next(r for r in table.rows if r.unit_code == city.street_b.code)
    assert (street_b.unit_name, street_b.due, street_b.resolved, street_b.on_time_rate) == ("乙街道", 1, 1, Decimal("0.00"))
    assert street_b.satisfaction_rate == Decimal("90.00") and street_b.avg_resolution_seconds == 9 * 86400
    assert table.final
    with pytest.raises(ApplicationError):
        scores_for(jurisdiction=jurisdiction_for(users.supervisor), period=october, level="building")
    with pytest.raises(ApplicationError):
        Period.parse("2026-13")


@pytest.mark.django_db
def test_the_real_workflow_log_is_read(city):
    """Appeals through the appeals services: automatic dispatch, a reroute to a
    department by the street (names in the log), contact, 办结 and evaluation."""
    grid_cat = grid_category()
    dept_cat = event_department_category()
    users = city.users
    one = receive(city, category=grid_cat)  # → grid A1
    two = receive(city, category=grid_cat, building=city.building_b1, phone="13900002222")  # → grid B1
    appeal_services.appeal_act(actor=users.grid_worker, appeal=one, action="sign", contact=True)
    one = appeal_services.appeal_act(actor=users.grid_worker, appeal=one, action="resolve", result="已清理")
    appeal_services.appeal_evaluate(tracking_code=one.tracking_code, phone_last4="5678", solved=True,
                                    rating="basically")
    appeal_services.appeal_act(actor=users.street_officer, appeal=two, action="reroute", reason="应由城管处理",
                               unit=city.chengguan, category=dept_cat)
    two.refresh_from_db()
    assert two.handling_department_id == city.chengguan.pk

    latest = max(one.deadline, two.deadline)
    months = {a.pk: deadline_day(a.deadline).replace(day=1) for a in (one, two)}
    for month in set(months.values()):  # the deadlines may straddle a month end
        services.compute_month(month=month, now=latest + timedelta(hours=1))
    grid = MonthlyScore.objects.get(unit_kind="grid", unit_code=city.grid_a1.code, month=months[one.pk])
    assert (grid.due, grid.responded_in_time, grid.resolved, grid.resolved_on_time, grid.evaluated) == (1, 1, 1, 1, 1)
    assert grid.satisfaction_rate == Decimal("90.00") and grid.composite == Decimal("96.00")  # 100 × (0.1 + 0.5 + 0.4 × 0.9)
    month = months[two.pk]
    dept = MonthlyScore.objects.get(unit_kind="department", unit_code=city.chengguan.code, month=month)
    assert (dept.due, dept.resolved) == (1, 0)
    assert MonthlyScore.objects.get(unit_kind="grid", unit_code=city.grid_b1.code, month=month).due == 0


@pytest.mark.django_db
def test_exclusion_requests_are_checked(city):
    (appeal,) = fabricate([make(place=city.grid_a1, deadline=at(2026, 10, 20),
                                events=[dispatch(city.grid_a1, at(2026, 10, 13))])])
    users = city.users
    with pytest.raises(NotFound):
        services.exclusion_request(actor=users.outsider, appeal=appeal, reason_kind="malicious", reason="x")
    with pytest.raises(ApplicationError, match="核减理由"):
        services.exclusion_request(actor=users.grid_worker, appeal=appeal, reason_kind="malicious", reason=" ")
    request = services.exclusion_request(actor=users.grid_worker, appeal=appeal, reason_kind="beyond_power",
                                         reason="涉及历史遗留产权问题，超出街道职权")
    with pytest.raises(Conflict):
        services.exclusion_request(actor=users.grid_worker, appeal=appeal, reason_kind="repeated", reason="重复")
    services.exclusion_decide(actor=users.street_officer, exclusion=request, approve=False, note="理由不充分")
    with pytest.raises(Conflict):
        services.exclusion_decide(actor=users.street_officer, exclusion=request, approve=True)
    request.refresh_from_db()
    assert request.status == "rejected" and request.reason.startswith("涉及历史遗留")


@pytest.mark.django_db
def test_a_real_escalation_moves_the_count_to_the_community(city):
    from appeals.escalation import appeal_escalate

    appeal = receive(city, category=grid_category(), building=city.building_a2, phone="13900003333")
    appeal_escalate(actor=city.users.grid_worker2, appeal=appeal, reason="需社区协调物业")
    appeal.refresh_from_db()
    month = deadline_day(appeal.deadline).replace(day=1)
    services.compute_month(month=month, now=appeal.deadline + timedelta(hours=1))

    def due(kind, code):
        return MonthlyScore.objects.get(unit_kind=kind, unit_code=code, month=month).due

    assert due("grid", city.grid_a2.code) == 0
    assert due("community", city.comm_a.code) == 1


@pytest.mark.django_db
def test_a_reroute_counts_for_the_department_named_by_code_not_by_name(city):
    """Two departments of one district share a name: the event's unit_code, not the
    name, says which one held the appeal at its deadline."""
    from grids.models import Department

    twin = Department.objects.create(district=city.dongcheng, code="110101-CGZ", name=city.chengguan.name)
    appeal = receive(city, category=grid_category(), building=city.building_b1, phone="13900004444")
    appeal = appeal_services.appeal_act(actor=city.users.street_officer, appeal=appeal, action="reroute",
                                        reason="应由城管处理", unit=city.chengguan, category=event_department_category())
    assert appeal.events.get(action="reroute").data["unit_code"] == city.chengguan.code
    month = deadline_day(appeal.deadline).replace(day=1)
    services.compute_month(month=month, now=appeal.deadline + timedelta(hours=1))

    def due(code):
        return MonthlyScore.objects.get(unit_kind="department", unit_code=code, month=month).due

    assert (due(city.chengguan.code), due(twin.code)) == (1, 0)
