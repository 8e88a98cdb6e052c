"""The loop through the services, the transition table, and who may act."""

import pytest
from django.utils import timezone

from appeals import services, workflow
from appeals.deliberation import services as meetings
from appeals.enums import AppealAction, AppealState, QueueLevel, Rating, Source
from appeals.models import Appeal, AppealEvent
from appeals.selectors import appeal_timeline, appeal_track
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from tests.appeals.factories import (
    community_category,
    grid_category,
    receive,
    verified_category,
)

A = AppealAction
S = AppealState
pytestmark = pytest.mark.django_db


def act(user, appeal, action, **data):
    return services.appeal_act(actor=user, appeal=appeal, action=action, **data)


def actions(appeal):
    return [e.action for e in appeal_timeline(appeal)]


def test_whole_loop_from_web_form_to_closed(city, django_capture_on_commit_callbacks, _sms_outbox_and_eager_tasks):
    outbox = _sms_outbox_and_eager_tasks
    u = city.users
    with django_capture_on_commit_callbacks(execute=True):
        appeal = receive(city, category=grid_category())
    assert appeal.state == S.DISPATCHED
    assert appeal.handling_grid == city.grid_a1
    assert appeal.deadline and appeal.response_deadline and appeal.level_deadline == appeal.deadline
    assert [m.phone for m in outbox] == ["13812345678"]
    assert appeal.tracking_code in outbox[0].message

    appeal = act(u.grid_worker, appeal, A.SIGN, contact=True, note="已电话联系居民")
    assert appeal.state == S.IN_PROGRESS and appeal.first_contact_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        appeal = act(u.grid_worker, appeal, A.RESOLVE, result="已协调物业清运垃圾")
    # A mobile number: the result notification is the feedback step.
    assert appeal.state == S.AWAITING_EVALUATION and appeal.feedback_at is not None
    assert len(outbox) == 2 and "已协调物业清运垃圾" in outbox[1].message and "/track/" in outbox[1].message

    appeal = services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4="5678", solved=True,
                                      rating=Rating.SATISFIED, comment="很及时")
    assert appeal.state == S.CLOSED and appeal.rating == Rating.SATISFIED and appeal.solved is True
    assert actions(appeal) == [A.RECEIVE, A.DISPATCH, A.SIGN, A.RESOLVE, A.FEEDBACK, A.EVALUATE]
    events = appeal_timeline(appeal)
    assert events[1].actor_label == "系统" and events[2].actor == u.grid_worker
    assert events[2].data == {"contact": True}
    assert appeal.version == 6  # one bump per action

    track = appeal_track(tracking_code=appeal.tracking_code.lower(), phone_last4="5678")
    assert track.state == S.CLOSED and len(track.steps) == 6
    assert all(u.grid_worker.first_name not in step.unit for step in track.steps)


def test_verification_comes_before_feedback(city, django_capture_on_commit_callbacks, _sms_outbox_and_eager_tasks):
    u = city.users
    appeal = receive(city, category=verified_category())
    appeal = act(u.grid_worker, appeal, A.SIGN)
    with django_capture_on_commit_callbacks(execute=True):
        appeal = act(u.grid_worker, appeal, A.RESOLVE, result="已清理")
    assert appeal.state == S.RESOLVED
    results = [m for m in _sms_outbox_and_eager_tasks if m.template == "feedback"]
    assert results == []  # no result message before the check
    assert A.VERIFY_PASS in workflow.offered(user=u.grid_worker, appeal=appeal)
    assert A.FEEDBACK not in workflow.offered(user=u.grid_worker, appeal=appeal)

    with pytest.raises(ApplicationError, match="原因"):
        act(u.grid_worker, appeal, A.VERIFY_FAIL)
    with pytest.raises(NotFound):
        act(u.grid_worker2, appeal, A.VERIFY_PASS)
    appeal = act(u.grid_worker, appeal, A.VERIFY_FAIL, reason="现场仍有堆物")
    assert appeal.state == S.IN_PROGRESS
    appeal = act(u.grid_worker, appeal, A.RESOLVE, result="已全部清理")
    with django_capture_on_commit_callbacks(execute=True):
        appeal = act(u.grid_worker, appeal, A.VERIFY_PASS, note="现场已清理")
    assert appeal.state == S.AWAITING_EVALUATION and appeal.verified
    assert len([m for m in _sms_outbox_and_eager_tasks if m.template == "feedback"]) == 1


def test_verify_is_refused_for_categories_without_it(city):
    appeal = receive(city, category=grid_category(), phone="", source=Source.PHONE, actor=city.users.grid_worker)
    appeal = act(city.users.grid_worker, appeal, A.SIGN)
    appeal = act(city.users.grid_worker, appeal, A.RESOLVE, result="已处理")
    with pytest.raises(Conflict, match="无需现场核查"):
        act(city.users.grid_worker, appeal, A.VERIFY_PASS)


def test_feedback_recorded_by_community_staff_without_mobile(city):
    u = city.users
    appeal = receive(city, category=grid_category(), phone="010-65001234", source=Source.PHONE, actor=u.community_worker)
    assert appeal.phone == "010-65001234" and appeal.state == S.DISPATCHED
    appeal = act(u.grid_worker, appeal, A.SIGN)
    appeal = act(u.grid_worker, appeal, A.RESOLVE, result="已处理")
    assert appeal.state == S.RESOLVED  # a landline gets no SMS: staff call back
    with pytest.raises(ApplicationError, match="反馈方式"):
        act(u.community_worker, appeal, A.FEEDBACK, method="email")
    appeal = act(u.community_worker, appeal, A.FEEDBACK, method="phone", note="电话回访，居民认可")
    assert appeal.state == S.AWAITING_EVALUATION
    assert appeal_timeline(appeal)[-1].data == {"method": "phone"}


def _appeal_in(city, state: str) -> Appeal:
    """An appeal put straight into ``state`` (test setup: the refusal is what is tested)."""
    appeal = receive(city, category=grid_category())
    Appeal.objects.filter(pk=appeal.pk).update(state=state, queue_level=QueueLevel.COMMUNITY,
                                               feedback_at=timezone.now() - timezone.timedelta(days=30))
    appeal.refresh_from_db()
    return appeal


def _pending_extension(city, appeal):
    from appeals.models import ExtensionRequest

    return ExtensionRequest.objects.create(
        appeal=appeal, level="grid", requested_by=city.users.grid_worker, reason="x",
        previous_deadline=timezone.now(), requested_deadline=timezone.now() + timezone.timedelta(days=3),
    )


def _job_actions():
    from appeals import escalation, extensions

    later = timezone.now() + timezone.timedelta(days=30)
    return {
        A.ESCALATE: lambda city, a: escalation.appeal_escalate(actor=city.users.street_officer, appeal=a, reason="x"),
        A.EXTEND_REQUEST: lambda city, a: extensions.extension_request(
            actor=city.users.street_officer, appeal=a, requested_deadline=later, reason="x"),
        A.EXTEND_APPROVE: lambda city, a: extensions.extension_approve(
            actor=city.users.community_worker, extension=_pending_extension(city, a)),
        A.EXTEND_REJECT: lambda city, a: extensions.extension_reject(
            actor=city.users.community_worker, extension=_pending_extension(city, a), note="x"),
        A.CLAIM: _volunteer_claim,
        A.DELIBERATE: lambda city, a: meetings.meeting_link(
            actor=city.users.community_worker, meeting=_meeting(city), codes=[a.tracking_code]),
        A.DELIBERATION_NOTE: lambda city, a: meetings.decision_note(
            actor=city.users.community_worker, decision=_decision(city), appeal=a, note="x"),
    }


def _meeting(city):
    # 民主协商 (appeals.deliberation): a meeting of the appeal's community (甲一社区).
    return meetings.meeting_schedule(actor=city.users.community_worker, community_code=city.comm_a.code,
                                     kind="hearing", topic="停车难", place="议事厅", starts_at=timezone.now())


def _decision(city):
    meeting = _meeting(city)
    meetings.meeting_record(actor=city.users.community_worker, meeting=meeting, residents_count=5, minutes="x")
    return meetings.decision_add(actor=city.users.community_worker, meeting=meeting, kind="decision", text="x",
                                 owner="y", due_date=timezone.now().date())


def _volunteer_claim(city, appeal):
    # The order hall's claim (tests/volunteers/test_claims.py): a volunteer of the
    # community, a volunteer-suitable category.
    from volunteers.services import volunteer_register

    appeal.category.volunteer_suitable = True
    appeal.category.save(update_fields=["volunteer_suitable"])
    volunteer_register(community=city.comm_a, user=city.users.volunteer)
    from volunteers.services import service_appeal_claim

    return service_appeal_claim(user=city.users.volunteer, appeal=appeal)


JOB_ACTIONS = _job_actions()
# Recorded in bulk by the sweep, which selects by these rows' sources (tests/appeals/test_escalation.py),
# and by the deadline re-computation, likewise (tests/appeals/test_recompute.py).
SWEEP_ONLY = {A.WARN, A.REMIND, A.DEADLINE_CORRECT}

ILLEGAL = [
    (action, state)
    for action in AppealAction if action != A.RECEIVE and action not in SWEEP_ONLY
    for state in AppealState if state not in workflow.sources(action)
]


@pytest.mark.parametrize(("action", "state"), ILLEGAL, ids=[f"{a}-from-{s}" for a, s in ILLEGAL])
def test_every_illegal_transition_is_refused(city, action, state):
    appeal = _appeal_in(city, state)
    events, version = appeal.events.count(), appeal.version
    with pytest.raises(Conflict) as refused:
        if action == A.WITHDRAW:
            services.appeal_withdraw_by_resident(tracking_code=appeal.tracking_code, phone_last4="5678")
        elif action == A.EVALUATE:
            services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4="5678", solved=True,
                                     rating=Rating.SATISFIED)
        elif action == A.SUPPLEMENT:
            services.appeal_supplement(tracking_code=appeal.tracking_code, phone_last4="5678", text="补充")
        elif action == A.CLOSE_UNEVALUATED:
            services.appeal_close_unevaluated(appeal=appeal)
        elif action in JOB_ACTIONS:
            JOB_ACTIONS[action](city, appeal)
        else:
            act(city.users.street_officer, appeal, action)
    assert str(AppealState(state).label) in refused.value.message
    assert refused.value.status_code == 409
    appeal.refresh_from_db()
    assert (appeal.state, appeal.version, appeal.events.count()) == (state, version, events)


def test_the_table_covers_every_state_and_action():
    assert {s for t in workflow.TABLE.values() for s in t.sources} == set(AppealState) - {S.CLOSED, S.DECLINED, S.WITHDRAWN}


def test_unsatisfied_evaluation_sends_it_back_for_rework_up_to_the_limit(city, settings):
    settings.APPEAL_REWORK_LIMIT = 1
    u = city.users
    appeal = receive(city, category=grid_category())
    appeal = act(u.grid_worker, appeal, A.SIGN)
    appeal = act(u.grid_worker, appeal, A.RESOLVE, result="已处理")
    appeal = services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4="5678", solved=False,
                                      rating=Rating.UNSATISFIED, comment="垃圾还在")
    assert appeal.state == S.IN_PROGRESS and appeal.rework_count == 1 and appeal.rating == ""
    assert appeal_timeline(appeal)[-1].data["rework"] is True
    appeal = act(u.grid_worker, appeal, A.RESOLVE, result="再次清运")
    appeal = services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4="5678", solved=False,
                                      rating=Rating.UNSATISFIED, comment="还是不行")
    assert appeal.state == S.CLOSED and appeal.flagged_for_supervisor and appeal.rating == Rating.UNSATISFIED
    assert appeal.rework_count == 1


def test_resident_needs_the_right_last_four_digits(city):
    appeal = receive(city, category=grid_category())
    with pytest.raises(NotFound, match="查询码或手机号后四位不正确"):
        appeal_track(tracking_code=appeal.tracking_code, phone_last4="0000")
    with pytest.raises(NotFound):
        services.appeal_withdraw_by_resident(tracking_code="ABCDEFGHJKMN", phone_last4="5678")


def test_resident_withdraws_before_it_is_signed_for(city):
    appeal = receive(city, category=grid_category())
    appeal = services.appeal_withdraw_by_resident(tracking_code=appeal.tracking_code, phone_last4="5678", reason="已自行解决")
    assert appeal.state == S.WITHDRAWN
    assert appeal_timeline(appeal)[-1].actor_label == "居民"
    signed = act(city.users.grid_worker, receive(city, category=grid_category()), A.SIGN)
    with pytest.raises(Conflict, match="办理中"):
        services.appeal_withdraw_by_resident(tracking_code=signed.tracking_code, phone_last4="5678")


# --- who may act ------------------------------------------------------------------------


def test_outsider_gets_not_found_and_supervisor_is_read_only(city):
    u = city.users
    appeal = receive(city, category=grid_category())
    with pytest.raises(NotFound):
        act(u.outsider, appeal, A.SIGN)
    with pytest.raises(NotFound):
        act(u.grid_worker2, appeal, A.SIGN)  # the other grid of the same community
    for supervisor in (u.supervisor, u.district_supervisor):
        with pytest.raises(ActionForbidden, match="只读"):
            act(supervisor, appeal, A.SIGN)
        assert workflow.offered(user=supervisor, appeal=appeal) == []
    with pytest.raises(ActionForbidden, match="当前办理单位"):
        act(u.street_officer, appeal, A.SIGN)
    with pytest.raises(ActionForbidden, match="居民本人"):
        act(u.grid_worker, appeal, A.EVALUATE)
    assert appeal.events.count() == 2


def test_community_worker_acts_for_its_grids(city):
    appeal = receive(city, category=grid_category())
    assert A.SIGN in workflow.offered(user=city.users.community_worker, appeal=appeal)
    appeal = act(city.users.community_worker, appeal, A.SIGN)
    assert appeal_timeline(appeal)[-1].actor_label == "甲一社区·社区工作者"


def test_actions_available_for_the_grid_worker(city):
    appeal = receive(city, category=grid_category())
    # 上报 and 延期 are offered beside the table's other staff actions.
    assert workflow.offered(user=city.users.grid_worker, appeal=appeal) == [
        A.SIGN, A.CONTACT, A.RETURN, A.NOTE, A.ESCALATE, A.EXTEND_REQUEST]
    assert workflow.offered(user=city.users.outsider, appeal=appeal) == []


def test_stale_version_is_refused(city):
    appeal = receive(city, category=grid_category())
    stale = appeal.version
    act(city.users.grid_worker, appeal, A.NOTE, note="已了解情况")
    with pytest.raises(Conflict, match="已被他人处理"):
        act(city.users.grid_worker, appeal, A.SIGN, expected_version=stale)


# --- return, reroute, dispatch by hand, decline, merge, whistle ---------------------------


def test_return_goes_back_to_the_dispatcher(city):
    u = city.users
    # Dispatched automatically: the return goes to the street's dispatch centre.
    appeal = receive(city, category=grid_category())
    with pytest.raises(ApplicationError, match="退单理由"):
        act(u.grid_worker, appeal, A.RETURN)
    appeal = act(u.grid_worker, appeal, A.RETURN, reason="不属于本网格")
    assert appeal.state == S.RECEIVED and appeal.queue_level == QueueLevel.STREET and appeal.handling_level == ""
    with pytest.raises(ActionForbidden):
        act(u.community_worker, appeal, A.DISPATCH, unit=city.grid_a1)

    # Dispatched by hand by the community: back to the community's queue.
    appeal = receive(city, category=None)
    assert appeal.state == S.RECEIVED and appeal.queue_level == QueueLevel.COMMUNITY
    appeal = act(u.community_worker, appeal, A.DISPATCH, unit=city.grid_a1, category=grid_category())
    assert appeal.state == S.DISPATCHED and appeal.dispatched_by == u.community_worker
    appeal = act(u.grid_worker, appeal, A.RETURN, reason="属于物业管理")
    assert appeal.queue_level == QueueLevel.COMMUNITY
    assert A.DISPATCH in workflow.offered(user=u.community_worker, appeal=appeal)
    appeal = act(u.community_worker, appeal, A.REROUTE, reason="类别有误", category=community_category())
    assert appeal.state == S.RECEIVED and appeal.category.code == "05001"
    appeal = act(u.community_worker, appeal, A.DISPATCH, unit=city.comm_a)
    assert appeal.handling_community == city.comm_a


def test_dispatch_by_hand_checks_the_place_and_fills_it_in(city):
    u = city.users
    appeal = receive(city, category=grid_category(), building=None, street=city.street_a, address_text="甲街道菜市场东门")
    assert appeal.state == S.RECEIVED and appeal.queue_level == QueueLevel.STREET
    assert appeal.territory_code == city.street_a.code
    with pytest.raises(NotFound):
        act(u.community_worker, appeal, A.DISPATCH, unit=city.grid_a1)  # not yet in its community
    with pytest.raises(ApplicationError, match="不在该诉求所在地"):
        act(u.street_officer, appeal, A.DISPATCH, unit=city.grid_c1)
    appeal = act(u.street_officer, appeal, A.DISPATCH, unit=city.grid_a2)
    assert (appeal.grid, appeal.community, appeal.territory_code) == (city.grid_a2, city.comm_a, city.grid_a2.code)
    assert A.SIGN in workflow.offered(user=u.grid_worker2, appeal=appeal)


def test_reroute_of_a_dispatched_appeal_by_the_street(city):
    u = city.users
    appeal = receive(city, category=grid_category())
    with pytest.raises(ActionForbidden, match="派单方"):
        act(u.grid_worker, appeal, A.REROUTE, reason="x", unit=city.comm_a)
    appeal = act(u.street_officer, appeal, A.REROUTE, reason="需社区协调", unit=city.comm_a)
    assert appeal.state == S.DISPATCHED and appeal.handling_community == city.comm_a and appeal.handling_grid is None
    with pytest.raises(ApplicationError, match="新的类别或办理单位"):
        act(u.street_officer, appeal, A.REROUTE, reason="x", unit=city.comm_a)


def test_decline_needs_a_reason(city):
    u = city.users
    appeal = receive(city, category=None)
    with pytest.raises(ApplicationError, match="不予受理的理由"):
        act(u.community_worker, appeal, A.DECLINE)
    appeal = act(u.community_worker, appeal, A.DECLINE, reason="内容与本社区无关")
    assert appeal.state == S.DECLINED
    assert appeal_track(tracking_code=appeal.tracking_code, phone_last4="5678").steps[-1].note == "内容与本社区无关"


def test_merge_a_duplicate(city):
    u = city.users
    first = receive(city, category=grid_category())
    duplicate = receive(city, category=None)
    with pytest.raises(ApplicationError, match="不能把诉求并入它自己"):
        act(u.community_worker, duplicate, A.MERGE, target=duplicate)
    with pytest.raises(ApplicationError, match="找不到"):
        act(u.community_worker, duplicate, A.MERGE, target="ZZZZZZZZZZZZ")
    other = receive(city, category=None, building=city.building_c1)
    with pytest.raises(ApplicationError, match="找不到"):
        act(u.community_worker, duplicate, A.MERGE, target=other.tracking_code)
    duplicate = act(u.community_worker, duplicate, A.MERGE, target=first.tracking_code.lower())
    assert duplicate.state == S.DECLINED and duplicate.merged_into == first
    assert appeal_timeline(duplicate)[-1].data == {"merged_into": first.tracking_code}


def test_whistle_and_checkin(city):
    u = city.users
    appeal = receive(city, category=grid_category())
    with pytest.raises(NotFound):
        act(u.department_handler, appeal, A.CHECKIN)
    with pytest.raises(ActionForbidden, match="街道"):
        act(u.community_worker, appeal, A.WHISTLE, departments=[city.chengguan])
    with pytest.raises(ApplicationError, match="职能部门"):
        act(u.street_officer, appeal, A.WHISTLE, departments=[])
    appeal = act(u.street_officer, appeal, A.WHISTLE, departments=[city.chengguan], note="占道严重，请城管到场")
    assert appeal.state == S.DISPATCHED
    assert workflow.offered(user=u.department_handler, appeal=appeal) == [A.NOTE, A.CHECKIN]
    with pytest.raises(ApplicationError, match="均已吹哨"):
        act(u.street_officer, appeal, A.WHISTLE, departments=[city.chengguan])
    appeal = act(u.department_handler, appeal, A.CHECKIN, note="已到场")
    co = appeal.co_handlers.get()
    assert co.checked_in_at is not None and co.summoned_by == u.street_officer
    assert appeal_timeline(appeal)[-1].data["department"] == "城管"
    with pytest.raises(ActionForbidden, match="尚未报到"):
        act(u.department_handler, appeal, A.CHECKIN)
    # The department still may not sign: only the handling unit acts.
    with pytest.raises(ActionForbidden):
        act(u.department_handler, appeal, A.SIGN)


def test_contact_sets_the_first_contact_once(city):
    appeal = receive(city, category=grid_category())
    appeal = act(city.users.grid_worker, appeal, A.CONTACT, note="电话联系")
    first = appeal.first_contact_at
    appeal = act(city.users.grid_worker, appeal, A.SIGN)
    appeal = act(city.users.grid_worker, appeal, A.CONTACT, note="再次联系")
    assert appeal.first_contact_at == first
    assert [e.data.get("first") for e in appeal_timeline(appeal) if e.action == A.CONTACT] == [True, False]


def test_close_unevaluated_after_the_waiting_days(city):
    appeal = receive(city, category=grid_category())
    appeal = act(city.users.grid_worker, appeal, A.SIGN)
    appeal = act(city.users.grid_worker, appeal, A.RESOLVE, result="已处理")
    with pytest.raises(Conflict, match="未满 7 天"):
        services.appeal_close_unevaluated(appeal=appeal)
    appeal = services.appeal_close_unevaluated(appeal=appeal, now=timezone.now() + timezone.timedelta(days=8))
    assert appeal.state == S.CLOSED and appeal.rating == ""
    assert AppealEvent.objects.filter(appeal=appeal, action=A.CLOSE_UNEVALUATED, actor__isnull=True).count() == 1
