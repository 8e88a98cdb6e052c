"""主动发现 (issue 15): appeals a worker raises from what they found (网格巡查 today). One
rule: routed by the responsibility list; on the finder's own grid they start in progress
with no 先行联系; with no resident's phone, 核查 closes them with no feedback or evaluation.
(That they stay out of 响应率, 解决率 and 满意率: tests/assessment/test_kept_measures.py.)"""

import pytest
from django.urls import reverse

from appeals import services
from appeals.enums import SELF_FOUND_SOURCES, AppealAction, AppealState, HandlingLevel, Source
from appeals.models import Appeal
from appeals.selectors import appeal_queue, appeal_timeline
from governance.kernel.errors import Conflict
from governance.staff.selectors import jurisdiction_for
from tests.appeals.factories import community_category, grid_category, receive, verified_category

pytestmark = pytest.mark.django_db
A = AppealAction
S = AppealState


def patrol(city, *, by=None, category=None, building=None, phone=""):
    return services.appeal_receive(
        source=Source.GRID_PATROL, actor=by or city.users.grid_worker, building=building or city.building_a1,
        category=category or grid_category(), description="楼道内堆放杂物", phone=phone,
    )


def act(user, appeal, action, **data):
    return services.appeal_act(actor=user, appeal=appeal, action=action, **data)


def test_patrol_and_home_visits_are_the_self_found_sources():
    assert SELF_FOUND_SOURCES == {Source.GRID_PATROL, Source.HOME_VISIT}


def test_found_on_the_finders_own_grid_it_starts_in_progress_without_a_contact(city, sms_outbox):
    appeal = patrol(city)

    assert (appeal.state, appeal.handling_level, appeal.handling_grid) == (S.IN_PROGRESS, HandlingLevel.GRID,
                                                                           city.grid_a1)
    assert appeal.first_contact_at is None and appeal.dispatched_at is not None and appeal.deadline is not None
    timeline = appeal_timeline(appeal)
    assert [(e.action, e.from_state, e.to_state, e.actor_label) for e in timeline] == [
        (A.RECEIVE, "", S.RECEIVED, "第一网格·网格员"),
        (A.DISPATCH, S.RECEIVED, S.DISPATCHED, "系统"),
        (A.SIGN, S.DISPATCHED, S.IN_PROGRESS, "第一网格·网格员"),
    ]
    sign = timeline[2]
    assert sign.actor == city.users.grid_worker and sign.data == {"contact": False}
    assert A.CONTACT not in [e.action for e in timeline]
    stored = Appeal.objects.get(pk=appeal.pk)
    assert stored.state == S.IN_PROGRESS and stored.version == appeal.version == 3  # as three transitions
    assert sms_outbox == []  # no resident's phone: nothing to send


def test_routed_elsewhere_it_is_only_dispatched(city):
    # The responsibility list sends it to the community: the community signs for it.
    to_community = patrol(city, category=community_category())
    assert (to_community.state, to_community.handling_community) == (S.DISPATCHED, city.comm_a)
    assert [e.action for e in appeal_timeline(to_community)] == [A.RECEIVE, A.DISPATCH]
    # Found by grid A2's worker in grid A1 (not their own grid): grid A1 signs for it.
    other_grid = patrol(city, by=city.users.grid_worker2)
    assert (other_grid.state, other_grid.handling_grid) == (S.DISPATCHED, city.grid_a1)


def test_an_appeal_a_worker_takes_for_a_resident_is_not_self_found(city):
    walk_in = receive(city, category=grid_category(), source=Source.WALK_IN, phone="", actor=city.users.grid_worker)
    assert walk_in.state == S.DISPATCHED


def test_without_a_residents_phone_verification_closes_it(city):
    u = city.users
    appeal = act(u.grid_worker, patrol(city), A.RESOLVE, result="已清理楼道杂物")
    assert appeal.state == S.RESOLVED
    # It waits for 核查 in the grid worker's queue; nobody can give feedback.
    queue = appeal_queue(jurisdiction=jurisdiction_for(u.grid_worker), state=S.RESOLVED)
    assert [a.pk for a in queue] == [appeal.pk]
    with pytest.raises(Conflict, match="核查通过即结案"):
        act(u.community_worker, appeal, A.FEEDBACK, method="visit")

    appeal = act(u.grid_worker, appeal, A.VERIFY_FAIL, reason="楼道仍有纸箱")
    assert appeal.state == S.IN_PROGRESS
    appeal = act(u.grid_worker, appeal, A.RESOLVE, result="纸箱已清走")
    appeal = act(u.grid_worker, appeal, A.VERIFY_PASS, note="现场已清理")

    assert appeal.state == S.CLOSED and appeal.verified and appeal.closed_at is not None
    assert [e.action for e in appeal_timeline(appeal)] == [
        A.RECEIVE, A.DISPATCH, A.SIGN, A.RESOLVE, A.VERIFY_FAIL, A.RESOLVE, A.VERIFY_PASS]
    assert appeal_timeline(appeal)[-1].to_state == S.CLOSED
    assert list(appeal_queue(jurisdiction=jurisdiction_for(u.grid_worker))) == []


def test_with_a_residents_mobile_it_goes_on_to_feedback_and_evaluation(city, django_capture_on_commit_callbacks,
                                                                        sms_outbox):
    u = city.users
    appeal = patrol(city, phone="13812345678")  # a need found with a resident, who gave a mobile
    assert appeal.state == S.IN_PROGRESS
    with django_capture_on_commit_callbacks(execute=True):
        appeal = act(u.grid_worker, appeal, A.RESOLVE, result="已清理")
    assert appeal.state == S.AWAITING_EVALUATION  # the result SMS was the feedback: no 核查
    # The tracking code when it was found, then the result with the evaluation link.
    assert [m.phone for m in sms_outbox] == ["13812345678", "13812345678"]
    services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4="5678", solved=True, rating="satisfied")
    appeal.refresh_from_db()
    assert appeal.state == S.CLOSED and not appeal.verified
    # Its category asks for 核查: the feedback waits for it, as for any appeal.
    checked = patrol(city, phone="13812345678", category=verified_category())
    with django_capture_on_commit_callbacks(execute=True):
        checked = act(u.grid_worker, act(u.grid_worker, checked, A.RESOLVE, result="已清理"), A.VERIFY_PASS)
    assert checked.state == S.AWAITING_EVALUATION


def test_the_appeal_page_offers_verification_that_closes_it(city, client, login):
    u = city.users
    appeal = act(u.grid_worker, patrol(city), A.RESOLVE, result="已清理楼道杂物")
    url = reverse("appeals:detail", args=[appeal.tracking_code])
    verify = reverse("appeals:action", args=[appeal.tracking_code, A.VERIFY_PASS])
    feedback = reverse("appeals:action", args=[appeal.tracking_code, A.FEEDBACK])
    page = login(u.grid_worker).get(url).content.decode()
    assert f'action="{verify}"' in page
    assert f'action="{feedback}"' not in login(u.community_worker).get(url).content.decode()
    response = login(u.grid_worker).post(verify, {"note": "现场已清理", "expected_version": appeal.version})
    assert response.status_code == 302
    assert Appeal.objects.get(pk=appeal.pk).state == S.CLOSED
