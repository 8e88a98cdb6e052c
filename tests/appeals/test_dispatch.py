"""Automatic dispatch by the responsibility list and the place; the queues; scoping."""

import pytest
from django.utils import timezone

from appeals import services
from appeals.enums import AppealAction, AppealState, EscalationLevel, HandlingLevel, QueueLevel
from appeals.models import Appeal
from appeals.selectors import appeal_get, appeal_queue, appeal_scope
from governance.kernel.errors import NotFound
from governance.staff.selectors import jurisdiction_for
from tests.appeals.factories import (
    CategoryFactory,
    community_category,
    component_department_category,
    event_department_category,
    grid_category,
    receive,
    street_category,
)

pytestmark = pytest.mark.django_db
S = AppealState


def jur(user):
    return jurisdiction_for(user)


def test_grid_community_and_street_categories_go_to_that_unit(city):
    a = receive(city, category=grid_category())
    assert (a.state, a.handling_level, a.handling_grid, a.escalation_level) == (
        S.DISPATCHED, HandlingLevel.GRID, city.grid_a1, EscalationLevel.GRID)
    b = receive(city, category=community_category())
    assert (b.handling_level, b.handling_community, b.escalation_level) == (
        HandlingLevel.COMMUNITY, city.comm_a, EscalationLevel.COMMUNITY)
    c = receive(city, category=street_category(), building=city.building_c1)
    assert (c.handling_level, c.handling_street) == (HandlingLevel.STREET, city.street_b)
    assert a.dispatched_by is None and a.dispatcher_level == ""
    assert a.events.last().actor_label == "系统" and a.events.last().data["automatic"] is True


def test_components_go_to_their_owner_department_and_events_to_the_locality_first(city):
    component = receive(city, category=component_department_category(), description="井盖缺失，有人掉落危险")
    assert component.handling_level == HandlingLevel.DEPARTMENT
    assert component.handling_department == city.chengguan
    assert component.escalation_level == ""
    assert component.deadline == component.dispatched_at + timezone.timedelta(hours=2)

    event = receive(city, category=event_department_category(), description="楼顶私搭乱建")
    assert event.handling_level == HandlingLevel.COMMUNITY and event.handling_community == city.comm_a
    assert event.events.last().data["cooperating_departments"] == ["110101-CG"]


def test_what_cannot_be_routed_waits_for_dispatch_by_hand(city):
    no_category = receive(city, category=None)
    assert (no_category.state, no_category.queue_level, no_category.handling_level) == (
        S.RECEIVED, QueueLevel.COMMUNITY, "")
    assert no_category.events.get().data["route"] == "未选择诉求类别"

    words_only = receive(city, category=grid_category(), building=None, community=city.comm_a,
                         address_text="和平里小区北门外")
    assert words_only.state == S.RECEIVED and words_only.queue_level == QueueLevel.COMMUNITY
    assert words_only.territory_code == city.comm_a.code

    no_community = receive(city, category=grid_category(), building=None, street=city.street_a,
                           address_text="甲街道与乙路交叉口")
    assert no_community.queue_level == QueueLevel.STREET

    no_department = receive(city, category=CategoryFactory(
        code="04001", default_level=HandlingLevel.DEPARTMENT, department_kind="ZJ"))
    assert no_department.state == S.RECEIVED
    assert "责任部门" in no_department.events.get().data["route"]


def test_patrol_with_a_grid_but_no_building_is_routed(city):
    appeal = services.appeal_receive(
        source="grid_patrol", actor=city.users.grid_worker, grid=city.grid_a1, category=grid_category(),
        address_text="3号楼东侧绿地", description="绿地内有建筑垃圾",
    )
    # Found on the finder's own grid: it starts in progress (tests/appeals/test_self_found.py).
    assert appeal.state == S.IN_PROGRESS and appeal.handling_grid == city.grid_a1 and appeal.phone == ""
    assert appeal.events.first().actor_label == "第一网格·网格员"


def test_queues_of_each_unit(city):
    u = city.users
    mine = receive(city, category=grid_category())
    other_grid = receive(city, category=grid_category(), building=city.building_a2)
    waiting = receive(city, category=None)
    street_waiting = receive(city, category=None, building=None, street=city.street_a, address_text="路口")
    department = receive(city, category=component_department_category())

    def codes(user, **kw):
        return {a.tracking_code for a in appeal_queue(jurisdiction=jur(user), **kw)}

    assert codes(u.grid_worker) == {mine.tracking_code}
    assert codes(u.grid_worker2) == {other_grid.tracking_code}
    assert codes(u.community_worker) == {mine.tracking_code, other_grid.tracking_code, waiting.tracking_code}
    assert codes(u.street_officer) == {waiting.tracking_code, street_waiting.tracking_code}
    assert codes(u.department_handler) == {department.tracking_code}
    assert codes(u.outsider) == set()
    assert codes(u.supervisor) == set()

    assert codes(u.community_worker, state=S.RECEIVED) == {waiting.tracking_code}
    assert codes(u.community_worker, grid=city.grid_a2.code) == {other_grid.tracking_code}
    assert codes(u.community_worker, search=mine.tracking_code.lower()) == {mine.tracking_code}
    assert codes(u.community_worker, search="5678") == {mine.tracking_code, other_grid.tracking_code, waiting.tracking_code}
    assert codes(u.community_worker, search="和平里2号") == {other_grid.tracking_code}
    Appeal.objects.filter(pk=mine.pk).update(deadline=timezone.now() - timezone.timedelta(hours=1))
    assert codes(u.community_worker, overdue=True) == {mine.tracking_code}
    assert mine.tracking_code not in codes(u.community_worker, overdue=False)
    today = timezone.localdate()
    assert len(codes(u.community_worker, date_from=today, date_to=today)) == 3
    assert codes(u.community_worker, date_to=today - timezone.timedelta(days=1)) == set()


def test_queue_query_count_does_not_grow_with_its_size(city, django_assert_max_num_queries):
    for _ in range(5):
        receive(city, category=grid_category())
    with django_assert_max_num_queries(2):
        rows = list(appeal_queue(jurisdiction=jur(city.users.community_worker)))
        [(a.category.name, a.handling_unit_name, a.grid.name) for a in rows]
    assert len(rows) == 5


def test_scope_and_get_follow_the_place_and_the_departments(city):
    u = city.users
    appeal = receive(city, category=grid_category())
    routed = receive(city, category=component_department_category())
    assert appeal_get(jurisdiction=jur(u.grid_worker), tracking_code=appeal.tracking_code) == appeal
    for user in (u.outsider, u.grid_worker2, u.department_handler):
        with pytest.raises(NotFound):
            appeal_get(jurisdiction=jur(user), tracking_code=appeal.tracking_code)
    assert set(appeal_scope(jur(u.district_supervisor))) == {appeal, routed}
    assert set(appeal_scope(jur(u.department_handler))) == {routed}
    services.appeal_act(actor=u.street_officer, appeal=appeal, action=AppealAction.WHISTLE,
                        departments=[city.chengguan])
    assert set(appeal_scope(jur(u.department_handler))) == {appeal, routed}


def test_department_returns_go_to_the_street_dispatch_centre(city):
    appeal = receive(city, category=component_department_category())
    appeal = services.appeal_act(actor=city.users.department_handler, appeal=appeal, action=AppealAction.RETURN,
                                 reason="属于物业维修范围")
    assert appeal.state == S.RECEIVED and appeal.queue_level == QueueLevel.STREET
    with pytest.raises(NotFound):
        appeal_get(jurisdiction=jur(city.users.department_handler), tracking_code=appeal.tracking_code)
    first_deadline = appeal.deadline
    appeal = services.appeal_act(actor=city.users.street_officer, appeal=appeal, action=AppealAction.DISPATCH,
                                 unit=city.comm_a)
    assert appeal.deadline == first_deadline  # a return does not buy time
    assert appeal.dispatcher_level == QueueLevel.STREET and appeal.dispatched_by == city.users.street_officer


def test_holder_events_name_their_target_by_level_and_code(city):
    """dispatch, return, reroute and escalate carry {"unit_level", "unit_code"} besides
    the names (the assessment matches units by code: names change and repeat)."""
    from appeals.escalation import appeal_escalate

    def target(appeal, action):
        data = appeal.events.filter(action=action).latest("id").data
        return data["unit_level"], data["unit_code"]

    appeal = receive(city, category=component_department_category())
    assert target(appeal, "dispatch") == ("department", city.chengguan.code)
    assert appeal.events.get(action="dispatch").data["unit"] == city.chengguan.name  # the name stays
    appeal = services.appeal_act(actor=city.users.department_handler, appeal=appeal, action=AppealAction.RETURN,
                                 reason="属于物业维修范围")
    assert target(appeal, "return") == ("street", city.street_a.code)
    appeal = services.appeal_act(actor=city.users.street_officer, appeal=appeal, action=AppealAction.DISPATCH,
                                 unit=city.comm_a)
    assert target(appeal, "dispatch") == ("community", city.comm_a.code)
    appeal = services.appeal_act(actor=city.users.street_officer, appeal=appeal, action=AppealAction.REROUTE,
                                 reason="应由网格处理", unit=city.grid_a1, category=grid_category())  # not urgent
    assert target(appeal, "reroute") == ("grid", city.grid_a1.code)
    appeal = appeal_escalate(actor=city.users.grid_worker, appeal=appeal, reason="需社区协调")
    assert target(appeal, "escalate") == ("community", city.comm_a.code)
    appeal = appeal_escalate(actor=city.users.community_worker, appeal=appeal, reason="需街道协调")
    assert target(appeal, "escalate") == ("street", city.street_a.code)
    appeal = appeal_escalate(actor=city.users.street_officer, appeal=appeal, reason="需区级督办")
    assert target(appeal, "escalate") == ("district", city.dongcheng.code)
