"""Who is told what (issue 19): every event that asks someone to act writes an inbox
message for the units or people who must act, through the outbox in the event's
transaction — dispatch (by hand, automatic, 改派), waiting for dispatch, 退单, 吹哨,
返工 (不满意, 核查未通过), 督办意见, 延期 — and never to the actor themselves."""

from datetime import timedelta

import pytest

from appeals import extensions, services
from appeals.enums import AppealAction, AppealState, Rating
from appeals.models import Appeal
from governance.enums import NotificationKind as K
from governance.kernel import outbox
from governance.models import Notification, OutboxMessage
from tests.appeals.factories import (
    community_category,
    grid_category,
    receive,
    street_category,
    verified_category,
)

pytestmark = pytest.mark.django_db
A = AppealAction


def act(user, appeal, action, **data):
    return services.appeal_act(actor=user, appeal=appeal, action=action, **data)


def inbox(user, kind=None):
    """The account's messages once the relay ran (as the kick after the commit does)."""
    outbox.relay()
    qs = Notification.objects.filter(recipient=user).order_by("id")
    return list(qs.filter(kind=kind) if kind else qs)


def everyone_told(city, kind) -> set[str]:
    outbox.relay()
    return set(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def test_automatic_dispatch_tells_the_grid_it_went_to_and_nobody_else(city):
    appeal = receive(city, category=grid_category())
    assert appeal.state == AppealState.DISPATCHED
    (message,) = inbox(city.users.grid_worker, K.DISPATCH)
    assert message.title == f"新派单：诉求 {appeal.tracking_code}"
    assert "暴露垃圾" in message.body and "请签收办理" in message.body and "办结时限" in message.body
    assert message.link == f"/appeals/{appeal.tracking_code}/" and message.group == f"appeal:{appeal.pk}"
    assert everyone_told(city, K.DISPATCH) == {"grid_worker"}
    # Written in the receive transaction beside the resident's SMS, as outbox rows.
    assert OutboxMessage.objects.filter(channel="inbox", subject=f"appeal:{appeal.pk}").count() == 1


def test_an_appeal_that_waits_tells_the_queue_it_waits_in(city):
    appeal = receive(city, category=None)
    assert appeal.state == AppealState.RECEIVED
    (message,) = inbox(city.users.community_worker, K.DISPATCH)
    assert message.title == f"待派单：诉求 {appeal.tracking_code}" and "未选择诉求类别" in message.body
    assert everyone_told(city, K.DISPATCH) == {"community_worker"}


def test_a_community_worker_filing_for_a_resident_is_not_told_of_their_own_appeal(city):
    services.appeal_receive(source="phone", actor=city.users.community_worker, building=city.building_a1,
                            description="楼道灯坏了", phone="010-12345678")
    assert everyone_told(city, K.DISPATCH) == set()


def test_dispatch_by_hand_tells_the_unit_not_the_dispatcher(city):
    appeal = receive(city, category=None, building=city.building_a2)
    outbox.relay()
    Notification.objects.all().delete()  # the community's 待派单
    act(city.users.community_worker, appeal, A.DISPATCH, unit=city.grid_a2, category=grid_category(),
        note="请尽快处理")
    (message,) = inbox(city.users.grid_worker2, K.DISPATCH)
    assert "请尽快处理" in message.body and "甲一社区" in message.body
    assert everyone_told(city, K.DISPATCH) == {"grid_worker2"}


def test_a_return_tells_the_dispatcher_queue_with_the_reason(city):
    appeal = receive(city, category=None)
    act(city.users.community_worker, appeal, A.DISPATCH, unit=city.grid_a1, category=grid_category())
    act(city.users.grid_worker, Appeal.objects.get(pk=appeal.pk), A.RETURN, reason="不属于本网格，应由物业处理")
    (message,) = inbox(city.users.community_worker, K.RETURN)
    assert message.title.startswith(f"退单待重新派单：诉求 {appeal.tracking_code}")
    assert "第一网格" in message.title and "退单理由：不属于本网格，应由物业处理" in message.body
    assert everyone_told(city, K.RETURN) == {"community_worker"}


def test_a_department_return_goes_to_the_street_dispatch_centre(city):
    from tests.appeals.factories import component_department_category

    appeal = receive(city, category=component_department_category(), description="井盖缺失")
    assert everyone_told(city, K.DISPATCH) == {"department_handler"}
    act(city.users.department_handler, appeal, A.RETURN, reason="属于物业维修范围")
    (message,) = inbox(city.users.street_officer, K.RETURN)
    assert "城管退回" in message.title and "属于物业维修范围" in message.body
    assert everyone_told(city, K.RETURN) == {"street_officer"}


def test_a_street_return_goes_to_the_street_dispatch_centre(city):
    appeal = receive(city, category=street_category())
    act(city.users.street_officer, appeal, A.RETURN, reason="应由社区处理")
    # The street returned its own automatic dispatch: its dispatch centre, but not the actor.
    assert everyone_told(city, K.RETURN) == set()


def test_a_whistle_asks_each_department_to_report(city):
    appeal = receive(city, category=grid_category())
    act(city.users.street_officer, appeal, A.WHISTLE, departments=[city.chengguan], note="占道严重，请城管到场")
    (message,) = inbox(city.users.department_handler, K.WHISTLE)
    assert message.title == f"吹哨报到：诉求 {appeal.tracking_code}"
    assert "请城管到诉求页面报到" in message.body and "占道严重" in message.body
    assert everyone_told(city, K.WHISTLE) == {"department_handler"}


def _to_evaluation(city, appeal):
    appeal = act(city.users.grid_worker, appeal, A.SIGN, contact=True)
    appeal = act(city.users.grid_worker, appeal, A.RESOLVE, result="已清运")
    assert appeal.state == AppealState.AWAITING_EVALUATION
    return appeal


def test_an_unsatisfied_resident_sends_it_back_and_the_handler_is_told(city):
    appeal = _to_evaluation(city, receive(city, category=grid_category()))
    services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4="5678", solved=False,
                             rating=Rating.UNSATISFIED, comment="垃圾还在")
    (message,) = inbox(city.users.grid_worker, K.REWORK)
    assert message.title == f"返工：诉求 {appeal.tracking_code} 居民不满意"
    assert "意见：垃圾还在" in message.body and "本级时限" in message.body
    assert everyone_told(city, K.REWORK) == {"grid_worker"}
    # A satisfied resident asks nobody to act.
    other = _to_evaluation(city, receive(city, category=grid_category()))
    services.appeal_evaluate(tracking_code=other.tracking_code, phone_last4="5678", solved=True,
                             rating=Rating.SATISFIED)
    assert len(inbox(city.users.grid_worker, K.REWORK)) == 1


def test_a_failed_check_sends_a_community_appeal_back_to_the_community(city):
    appeal = receive(city, category=verified_category(default_level="community"))
    assert appeal.handling_community == city.comm_a
    appeal = act(city.users.community_worker, appeal, A.SIGN, contact=True)
    appeal = act(city.users.community_worker, appeal, A.RESOLVE, result="已清理")
    act(city.users.grid_worker, appeal, A.VERIFY_FAIL, reason="现场仍有堆物")
    (message,) = inbox(city.users.community_worker, K.REWORK)
    assert "核查未通过" in message.title and "现场仍有堆物" in message.body
    assert everyone_told(city, K.REWORK) == {"community_worker"}


def test_a_reroute_tells_the_new_unit_and_a_move_to_the_street_tells_the_street(city):
    appeal = receive(city, category=community_category(), building=city.building_a2)
    act(city.users.community_worker, appeal, A.REROUTE, unit=city.grid_a2, reason="属第二网格")
    (message,) = inbox(city.users.grid_worker2, K.DISPATCH)
    assert message.title == f"改派至本单位：诉求 {appeal.tracking_code}" and "属第二网格" in message.body

    waiting = receive(city, category=None)
    act(city.users.community_worker, waiting, A.REROUTE, to_street=True, reason="涉及多个社区")
    (message,) = inbox(city.users.street_officer, K.DISPATCH)
    assert message.title == f"待派单：诉求 {waiting.tracking_code}" and "涉及多个社区" in message.body


def test_a_supervision_note_goes_to_the_handling_unit_as_its_own_kind(city):
    appeal = receive(city, category=grid_category())
    act(city.users.district_supervisor, appeal, A.SUPERVISE, note="请三日内办结并回复。")
    (message,) = inbox(city.users.grid_worker, K.SUPERVISION)
    assert message.title == f"督办意见：诉求 {appeal.tracking_code}" and message.body == "请三日内办结并回复。"
    assert everyone_told(city, K.SUPERVISION) == {"grid_worker"}


def test_an_extension_request_and_its_decision(city):
    appeal = receive(city, category=grid_category())
    appeal = act(city.users.grid_worker, appeal, A.SIGN, contact=True)
    request = extensions.extension_request(actor=city.users.grid_worker, appeal=appeal,
                                           requested_deadline=appeal.deadline + timedelta(days=5), reason="需等待配件")
    (asked,) = inbox(city.users.community_worker, K.EXTENSION)
    assert "需等待配件" in asked.body and asked.group == f"appeal:{appeal.pk}"
    extensions.extension_reject(actor=city.users.community_worker, extension=request, note="可先行处置")
    (decided,) = inbox(city.users.grid_worker, K.EXTENSION)
    assert decided.title == f"延期未批准：{appeal.tracking_code}" and decided.body == "可先行处置"


def test_messages_are_written_with_their_event_or_not_at_all(city):
    """A refused action writes no message: the outbox row belongs to the event's transaction."""
    appeal = receive(city, category=grid_category())
    before = OutboxMessage.objects.count()
    with pytest.raises(Exception, match="已被他人处理"):
        act(city.users.street_officer, appeal, A.WHISTLE, departments=[city.chengguan], expected_version=99)
    assert OutboxMessage.objects.count() == before
    assert everyone_told(city, K.WHISTLE) == set()
