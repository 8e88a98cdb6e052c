"""Service appeals for volunteers: 平台派单、党员接单、居民评单 (issue 6, part 4).

The order hall lists volunteer-suitable appeals dispatched to the volunteer's community
(or one of its grids); the first claim wins; the claiming volunteer contacts, notes and
resolves through the appeals transition service; the resident's closing evaluation
decides the points.
"""

from types import SimpleNamespace

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from appeals import services as appeal_services
from appeals.enums import AppealAction, AppealState, CategoryType, HandlingLevel, Rating
from appeals.models import Appeal, AppealEvent
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from governance.models import AccessLog
from tests.appeals.factories import CategoryFactory, community_category, receive
from tests.factories import UserFactory
from tests.helpers import run_at_once
from volunteers import selectors
from volunteers import services as volunteer_services
from volunteers.enums import PointsKind, PointsSource, VolunteerStatus
from volunteers.models import PointsEntry, Volunteer

A = AppealAction
S = AppealState
PHONE = "13812345678"


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _helper_category(**kw):
    return CategoryFactory(code="06001", class_name="养老服务", name="助老服务（代购、陪诊）", type=CategoryType.SERVICE,
                           default_level=HandlingLevel.COMMUNITY, volunteer_suitable=True, **kw)


def _visit_category():
    return CategoryFactory(code="06002", class_name="养老服务", name="独居老人探访", type=CategoryType.SERVICE,
                           default_level=HandlingLevel.GRID, volunteer_suitable=True)


@pytest.fixture
def hall(vol):
    """``vol`` plus a second volunteer of 甲一社区 with an account (rival), and an appeal
    of a volunteer-suitable category dispatched automatically to 甲一社区 (errand)."""
    rival_user = UserFactory(username="rival_volunteer")
    vol.rival = volunteer_services.volunteer_register(community=vol.comm_a, user=rival_user, name="吴刚")
    vol.rival_user = rival_user
    vol.errand = receive(vol, category=_helper_category(), description="独居老人需要有人帮忙代购米面油。")
    assert vol.errand.state == S.DISPATCHED and vol.errand.handling_community == vol.comm_a
    return vol


def _claim(city, appeal, user=None, **kw):
    return volunteer_services.service_appeal_claim(user=user or city.users.volunteer, appeal=appeal, **kw)


def _resolve_and_evaluate(city, appeal, rating, *, user=None):
    appeal = appeal_services.appeal_act(actor=user or city.users.volunteer, appeal=appeal, action=A.RESOLVE,
                                        result="已陪同老人购物并送到家。")
    assert appeal.state == S.AWAITING_EVALUATION  # a mobile: the result SMS is the feedback
    return appeal_services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4=PHONE[-4:],
                                           solved=rating != Rating.UNSATISFIED, rating=rating)


def _earned(volunteer) -> list[int]:
    return list(PointsEntry.objects.filter(volunteer=volunteer, source=PointsSource.SERVICE_APPEAL)
                .values_list("delta", flat=True))


# --- the whole loop ---------------------------------------------------------------------------


@pytest.mark.parametrize(("rating", "points"), [(Rating.SATISFIED, 5), (Rating.BASICALLY, 3), (Rating.UNSATISFIED, 0)])
def test_claim_resolve_evaluate_awards_the_points_of_the_rating(hall, settings, rating, points):
    settings.APPEAL_REWORK_LIMIT = 0  # 不满意 closes at once (no rework round)
    client = _api(hall.users.volunteer)
    listed = client.get("/api/v1/volunteers/hall/").json()["results"]
    assert [a["tracking_code"] for a in listed] == [hall.errand.tracking_code]
    assert "phone" not in listed[0]

    claimed = client.post(f"/api/v1/volunteers/hall/{hall.errand.tracking_code}/claim/",
                          {"expected_version": listed[0]["version"]}, format="json")
    assert claimed.status_code == 200, claimed.json()
    assert claimed.json()["state"] == S.IN_PROGRESS and claimed.json()["phone"] == PHONE
    assert client.get("/api/v1/volunteers/hall/").json()["results"] == []
    code = hall.errand.tracking_code
    assert client.post(f"/api/v1/volunteers/my-appeals/{code}/contact/", {"note": "已电话联系王大爷"}, format="json").status_code == 200
    assert client.post(f"/api/v1/volunteers/my-appeals/{code}/note/", {"note": "约好周六上午"}, format="json").status_code == 200
    resolved = client.post(f"/api/v1/volunteers/my-appeals/{code}/resolve/", {"result": "已代购并送到家"}, format="json")
    assert resolved.status_code == 200 and resolved.json()["state"] == S.AWAITING_EVALUATION

    appeal = appeal_services.appeal_evaluate(tracking_code=code, phone_last4=PHONE[-4:],
                                             solved=rating != Rating.UNSATISFIED, rating=rating)
    assert appeal.state == S.CLOSED
    mine = client.get("/api/v1/volunteers/my-appeals/").json()["results"]
    assert [(a["tracking_code"], a["state"], a["rating"]) for a in mine] == [(code, S.CLOSED, rating)]
    assert _earned(hall.v) == [points]
    assert Volunteer.objects.get(pk=hall.v.pk).points_balance == points
    entry = PointsEntry.objects.get(volunteer=hall.v, appeal_id=appeal.pk)
    assert entry.kind == PointsKind.EARN and entry.appeal_code == code
    actions = list(appeal.events.values_list("action", flat=True))
    assert actions == [A.RECEIVE, A.DISPATCH, A.CLAIM, A.CONTACT, A.NOTE, A.RESOLVE, A.FEEDBACK, A.EVALUATE]
    claim = appeal.events.get(action=A.CLAIM)
    assert claim.actor == hall.users.volunteer and claim.actor_label.startswith("甲一社区·志愿者")
    assert appeal.first_contact_at is not None  # the volunteer's contact is the response
    assert appeal.handling_community == hall.comm_a  # the community stays the handler


def test_the_points_follow_the_settings(hall, settings):
    settings.VOLUNTEER_APPEAL_RATING_POINTS = {"satisfied": 8, "basically": 4, "unsatisfied": 0}
    appeal = _claim(hall, hall.errand)
    _resolve_and_evaluate(hall, appeal, Rating.SATISFIED)
    assert _earned(hall.v) == [8]


def test_a_rework_round_earns_nothing_and_the_closing_evaluation_decides(hall, settings):
    settings.APPEAL_REWORK_LIMIT = 1
    appeal = _claim(hall, hall.errand)
    appeal = _resolve_and_evaluate(hall, appeal, Rating.UNSATISFIED)
    assert appeal.state == S.IN_PROGRESS and appeal.claimed_by == hall.v
    assert _earned(hall.v) == []
    # Back to the same volunteer, who resolves it again.
    assert appeal in selectors.my_service_appeals(volunteer=hall.v)
    appeal = _resolve_and_evaluate(hall, appeal, Rating.BASICALLY)
    assert appeal.state == S.CLOSED and _earned(hall.v) == [3]


def test_an_unclaimed_appeal_earns_nobody_points(hall):
    appeal = appeal_services.appeal_act(actor=hall.users.community_worker, appeal=hall.errand, action=A.SIGN)
    _resolve_and_evaluate(hall, appeal, Rating.SATISFIED, user=hall.users.community_worker)
    assert not PointsEntry.objects.filter(source=PointsSource.SERVICE_APPEAL).exists()


# --- first claim wins ------------------------------------------------------------------------------


def test_the_second_claim_is_refused_with_409(hall):
    version = hall.errand.version
    assert _api(hall.users.volunteer).post(f"/api/v1/volunteers/hall/{hall.errand.tracking_code}/claim/",
                                           {"expected_version": version}, format="json").status_code == 200
    late = _api(hall.rival_user).post(f"/api/v1/volunteers/hall/{hall.errand.tracking_code}/claim/",
                                      {"expected_version": version}, format="json")
    assert late.status_code == 409 and "已被其他志愿者接单" in late.json()["detail"]
    assert Appeal.objects.get(pk=hall.errand.pk).claimed_by == hall.v
    assert AppealEvent.objects.filter(appeal=hall.errand, action=A.CLAIM).count() == 1


def test_the_second_claim_on_the_page_says_so(hall, login):
    _claim(hall, hall.errand)
    response = login(hall.rival_user).post(reverse("volunteers:hall-claim", args=[hall.errand.tracking_code]),
                                           {"expected_version": hall.errand.version}, follow=True)
    assert response.status_code == 200 and "已被其他志愿者接单" in response.content.decode()
    # And the rival cannot open it any more: it is not theirs and no longer in the hall.
    assert login(hall.rival_user).get(reverse("volunteers:hall-detail", args=[hall.errand.tracking_code])).status_code == 404


def test_a_stale_version_is_refused(hall):
    seen = hall.errand.version
    appeal_services.appeal_act(actor=hall.users.community_worker, appeal=hall.errand, action=A.NOTE, note="已安排志愿者")
    with pytest.raises(Conflict, match="已变更"):
        _claim(hall, hall.errand, expected_version=seen)
    assert Appeal.objects.get(pk=hall.errand.pk).state == S.DISPATCHED


def test_the_handling_units_own_sign_for_takes_it_out_of_the_hall(hall):
    appeal = receive(hall, category=_visit_category(), description="请人每周探访独居老人。")
    assert appeal.handling_grid == hall.grid_a1
    assert appeal in selectors.order_hall(volunteer=hall.v)  # a grid of the community: in the hall too
    appeal_services.appeal_act(actor=hall.users.grid_worker, appeal=appeal, action=A.SIGN)
    assert appeal not in selectors.order_hall(volunteer=hall.v)
    with pytest.raises(Conflict, match="办理中"):
        _claim(hall, Appeal.objects.get(pk=appeal.pk))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_have_exactly_one_winner(city):
    category = _helper_category()
    appeal = receive(city, category=category)
    users = [UserFactory() for _ in range(6)]
    for u in users:
        volunteer_services.volunteer_register(community=city.comm_a, user=u)
    def claim(user):
        # Each loads the same version first, then they claim together.
        return (lambda: Appeal.objects.get(pk=appeal.pk),
                lambda copy: volunteer_services.service_appeal_claim(user=user, appeal=copy,
                                                                     expected_version=copy.version))

    won, errors = run_at_once([claim(u) for u in users], expected=(ApplicationError,))
    outcome = SimpleNamespace(ok=len(won), errors=errors)
    assert outcome.ok == 1 and len(outcome.errors) == 5
    assert all(e.status_code == 409 and "已被其他志愿者接单" in e.message for e in outcome.errors)
    assert AppealEvent.objects.filter(appeal=appeal, action=A.CLAIM).count() == 1
    final = Appeal.objects.get(pk=appeal.pk)
    assert final.state == S.IN_PROGRESS and final.claimed_by.user in users


# --- who sees and acts ------------------------------------------------------------------------------


def test_a_volunteer_of_another_community_gets_404(hall, login):
    client = _api(hall.other_user)
    assert client.get("/api/v1/volunteers/hall/").json()["results"] == []
    assert client.get(f"/api/v1/volunteers/hall/{hall.errand.tracking_code}/").status_code == 404
    assert client.post(f"/api/v1/volunteers/hall/{hall.errand.tracking_code}/claim/").status_code == 404
    page = login(hall.other_user)
    assert page.get(reverse("volunteers:hall-detail", args=[hall.errand.tracking_code])).status_code == 404
    assert page.post(reverse("volunteers:hall-claim", args=[hall.errand.tracking_code])).status_code == 404
    assert Appeal.objects.get(pk=hall.errand.pk).state == S.DISPATCHED


def test_a_staff_account_without_a_volunteer_row_gets_403_with_the_reason(hall):
    client = _api(hall.users.outsider)
    for response in (client.get("/api/v1/volunteers/hall/"),
                     client.post(f"/api/v1/volunteers/hall/{hall.errand.tracking_code}/claim/")):
        assert response.status_code == 403
        assert response.json()["detail"] == "该操作仅限已登记的志愿者：您的账号没有登记为志愿者，请联系所在社区登记。"
    with pytest.raises(NotFound):
        _claim(hall, hall.errand, user=hall.users.community_worker)


def test_a_category_not_suitable_for_volunteers_never_appears_in_the_hall(hall):
    noise = receive(hall, category=community_category(), description="楼上装修噪音扰民。")
    assert noise.state == S.DISPATCHED and noise.handling_community == hall.comm_a
    client = _api(hall.users.volunteer)
    codes = [a["tracking_code"] for a in client.get("/api/v1/volunteers/hall/").json()["results"]]
    assert codes == [hall.errand.tracking_code]
    assert client.get(f"/api/v1/volunteers/hall/{noise.tracking_code}/").status_code == 404
    assert client.post(f"/api/v1/volunteers/hall/{noise.tracking_code}/claim/").status_code == 404


def test_a_volunteer_cannot_act_on_an_appeal_they_did_not_claim(hall):
    appeal = _claim(hall, hall.errand)
    rival = _api(hall.rival_user)
    for action in ["contact", "note", "resolve"]:
        response = rival.post(f"/api/v1/volunteers/my-appeals/{appeal.tracking_code}/{action}/",
                              {"note": "x", "result": "x"}, format="json")
        assert response.status_code == 404, action
    assert rival.get(f"/api/v1/volunteers/my-appeals/{appeal.tracking_code}/").status_code == 404
    # Nor through the service directly: it does not exist for them.
    with pytest.raises(NotFound):
        appeal_services.appeal_act(actor=hall.rival_user, appeal=appeal, action=A.RESOLVE, result="x")
    # An unclaimed appeal is not the claimant's either.
    other = receive(hall, category=_helper_category(), description="想请人帮忙取快递。")
    with pytest.raises(NotFound):
        appeal_services.appeal_act(actor=hall.users.volunteer, appeal=other, action=A.NOTE, note="x")


@pytest.mark.parametrize("action", [A.RETURN, A.FEEDBACK, A.SIGN, A.REROUTE])
def test_the_claimant_may_only_contact_note_and_resolve(hall, action):
    appeal = _claim(hall, hall.errand)
    with pytest.raises(ActionForbidden, match="接单志愿者只能"):
        appeal_services.appeal_act(actor=hall.users.volunteer, appeal=appeal, action=action)


def test_staff_keep_their_rights_on_a_claimed_appeal(hall, login):
    appeal = _claim(hall, hall.errand)
    appeal = appeal_services.appeal_act(actor=hall.users.community_worker, appeal=appeal, action=A.NOTE,
                                        note="社区已电话回访志愿者")
    assert appeal.events.last().actor == hall.users.community_worker
    # The staff pages and queue still show it, with the claim in the timeline.
    client = login(hall.users.community_worker)
    page = client.get(reverse("appeals:detail", args=[appeal.tracking_code]))
    assert page.status_code == 200 and "志愿者接单" in page.content.decode()
    assert client.get(reverse("appeals:queue")).status_code == 200


def test_a_suspended_volunteer_sees_an_empty_hall_and_cannot_claim(hall):
    Volunteer.objects.filter(pk=hall.v.pk).update(status=VolunteerStatus.SUSPENDED)
    hall.v.refresh_from_db()
    assert list(selectors.order_hall(volunteer=hall.v)) == []
    with pytest.raises(ActionForbidden, match="暂停或退出"):
        _claim(hall, hall.errand)


# --- pages ------------------------------------------------------------------------------------------


def test_pages_claim_contact_and_resolve_with_the_phone_logged(hall, login):
    client = login(hall.users.volunteer)
    code = hall.errand.tracking_code
    listing = client.get(reverse("volunteers:hall")).content.decode()
    assert "助老服务" in listing and PHONE not in listing
    card = client.get(reverse("volunteers:hall-detail", args=[code])).content.decode()
    assert "代购米面油" in card and PHONE not in card and "接单后可见" in card
    assert not AccessLog.objects.filter(user=hall.users.volunteer).exists()

    response = client.post(reverse("volunteers:hall-claim", args=[code]),
                           {"expected_version": hall.errand.version}, follow=True)
    body = response.content.decode()
    assert "接单成功" in body and PHONE in body
    log = AccessLog.objects.get(user=hall.users.volunteer)
    assert code in log.subject

    version = Appeal.objects.get(pk=hall.errand.pk).version
    response = client.post(reverse("volunteers:my-appeal-contact", args=[code]),
                           {"contact-expected_version": version, "contact-note": "已电话联系"}, follow=True)
    assert "已记录联系情况" in response.content.decode()
    version += 1
    empty = client.post(reverse("volunteers:my-appeal-resolve", args=[code]),
                        {"resolve-expected_version": version, "resolve-result": ""}, follow=True)
    assert "请填写办理结果" in empty.content.decode()
    response = client.post(reverse("volunteers:my-appeal-resolve", args=[code]),
                           {"resolve-expected_version": version, "resolve-result": "已代购米面油送到家"}, follow=True)
    assert "已办结" in response.content.decode()
    assert Appeal.objects.get(pk=hall.errand.pk).state == S.AWAITING_EVALUATION
    mine = client.get(reverse("volunteers:my-appeals")).content.decode()
    assert code in mine and "待评价" in mine
    # Someone else's claimed appeal page: 404.
    assert login(hall.rival_user).get(reverse("volunteers:my-appeal", args=[code])).status_code == 404


def test_the_subnav_links_to_the_hall(hall, login):
    body = login(hall.users.volunteer).get(reverse("volunteers:home")).content.decode()
    assert reverse("volunteers:hall") in body and reverse("volunteers:my-appeals") in body


def test_the_demo_puts_service_appeals_in_the_volunteers_hall(city):
    from appeals.demo import categories_load
    from volunteers import demo

    categories_load()
    for _ in range(2):
        demo.seed(SimpleNamespace(stdout=None))
    me = Volunteer.objects.get(user=city.users.volunteer)
    hall_appeals = list(selectors.order_hall(volunteer=me))
    assert len(hall_appeals) == 3  # idempotent: not six
    assert {a.category.name for a in hall_appeals} >= {"助老服务（代购、陪诊）", "证明材料代办"}
