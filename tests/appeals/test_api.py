"""The appeals REST API: the loop end to end, the checks (404/403/409/400/429), the
scoped list, the resident's tracking and the categories."""


import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from appeals import workflow
from appeals.enums import AppealAction, AppealState, QueueLevel, Rating, Source
from appeals.models import Appeal, AppealAttachment
from governance.models import AccessLog
from tests.appeals.factories import (
    CategoryFactory,
    component_department_category,
    grid_category,
    receive,
    verified_category,
)
from tests.helpers import jpeg

A = AppealAction
S = AppealState
pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456"  # tests/factories.UserFactory


@pytest.fixture
def staff():
    """An API client authenticated as ``user`` (force_authenticate: the token path is
    exercised by the whole-loop test)."""

    def _staff(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return _staff


@pytest.fixture
def public():
    # The real thing: an anonymous client that would be held to Django's CSRF check.
    return APIClient(enforce_csrf_checks=True)


def intake_body(city, **overrides) -> dict:
    body = {
        "category": "01001", "building": city.building_a1.code, "description": "楼下垃圾堆放多日无人清理",
        "name": "王建国", "phone": "13812345678",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def url(appeal, segment: str = "") -> str:
    code = appeal if isinstance(appeal, str) else appeal.tracking_code
    return f"/api/v1/appeals/{code}/{segment + '/' if segment else ''}"


def track_url(appeal) -> str:
    return f"/api/v1/track/{appeal.tracking_code}/"


# --- the whole loop ------------------------------------------------------------------------


def test_whole_loop_through_the_api_with_a_token(
    city, public, django_capture_on_commit_callbacks, sms_outbox
):
    grid_category()
    with django_capture_on_commit_callbacks(execute=True):
        created = public.post("/api/v1/appeals/", intake_body(city), format="json")
    assert created.status_code == 201, created.content
    code = created.json()["tracking_code"]
    assert created.json()["state"] == S.DISPATCHED and "第一网格" in created.json()["handling_unit"]
    appeal = Appeal.objects.get(tracking_code=code)
    assert appeal.source == Source.API and appeal.handling_grid == city.grid_a1
    assert [m.phone for m in sms_outbox] == ["13812345678"] and code in sms_outbox[0].message

    token = APIClient().post("/api/v1/auth/token/", {"username": "grid_worker", "password": PASSWORD}).json()["token"]
    worker = APIClient()
    worker.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    detail = worker.get(url(code))
    assert detail.status_code == 200
    assert detail.json()["phone"] == "13812345678"
    assert detail.json()["actions"] == ["sign", "contact", "return", "note", "escalate", "extensions"]
    assert AccessLog.objects.filter(user=city.users.grid_worker, subject=f"appeal:{code}").count() == 1

    signed = worker.post(url(code, "sign"), {"contact": True, "note": "已电话联系居民",
                                             "expected_version": detail.json()["version"]}, format="json")
    assert signed.status_code == 200, signed.content
    assert signed.json()["state"] == S.IN_PROGRESS and signed.json()["first_contact_at"]
    assert "resolve" in signed.json()["actions"]

    with django_capture_on_commit_callbacks(execute=True):
        resolved = worker.post(url(code, "resolve"), {"result": "已协调物业清运垃圾"}, format="json")
    # A mobile number: the result SMS with the evaluation link is the feedback step.
    assert resolved.status_code == 200 and resolved.json()["state"] == S.AWAITING_EVALUATION
    assert len(sms_outbox) == 2 and "/track/" in sms_outbox[1].message

    tracked = public.post(f"/api/v1/track/{code.lower()}/", {"phone_last4": "5678"}, format="json")
    assert tracked.status_code == 200
    assert tracked.json()["can_evaluate"] and tracked.json()["result"] == "已协调物业清运垃圾"
    evaluated = public.post(f"/api/v1/track/{code}/", {
        "phone_last4": "5678", "solved": True, "rating": Rating.SATISFIED, "comment": "很及时",
    }, format="json")
    assert evaluated.status_code == 200, evaluated.content
    assert evaluated.json()["state"] == S.CLOSED and evaluated.json()["rating"] == Rating.SATISFIED

    timeline = worker.get(url(code)).json()["timeline"]
    assert [e["action"] for e in timeline] == [A.RECEIVE, A.DISPATCH, A.SIGN, A.RESOLVE, A.FEEDBACK, A.EVALUATE]
    assert timeline[2]["note"] == "已电话联系居民" and timeline[2]["actor_label"] == "第一网格·网格员"
    steps = evaluated.json()["steps"]
    assert len(steps) == 6 and all(city.users.grid_worker.first_name not in s["unit"] for s in steps)


def test_verify_and_feedback_by_call_through_the_api(city, staff):
    # A landline taken by phone: no SMS, so community staff record the feedback.
    appeal = receive(city, category=verified_category(), phone="010-65001234", source=Source.PHONE,
                     actor=city.users.community_worker)
    worker, community = staff(city.users.grid_worker), staff(city.users.community_worker)
    assert worker.post(url(appeal, "sign"), {}, format="json").status_code == 200
    assert worker.post(url(appeal, "resolve"), {"result": "已清理"}, format="json").json()["state"] == S.RESOLVED
    assert worker.get(url(appeal)).json()["actions"] == ["verify", "note"]

    no_reason = worker.post(url(appeal, "verify"), {"passed": False}, format="json")
    assert no_reason.status_code == 400 and "原因" in no_reason.json()["reason"][0]
    no_answer = worker.post(url(appeal, "verify"), {}, format="json")
    assert no_answer.status_code == 400 and "passed" in no_answer.json()["passed"][0]
    failed = worker.post(url(appeal, "verify"), {"passed": False, "reason": "现场仍有堆物"}, format="json")
    assert failed.json()["state"] == S.IN_PROGRESS
    worker.post(url(appeal, "resolve"), {"result": "已全部清理"}, format="json")
    passed = worker.post(url(appeal, "verify"), {"passed": True, "note": "现场已清理"}, format="json")
    assert passed.status_code == 200 and passed.json()["state"] == S.RESOLVED

    bad_method = community.post(url(appeal, "feedback"), {"method": "email"}, format="json")
    assert bad_method.status_code == 400 and "method" in bad_method.json()
    fed_back = community.post(url(appeal, "feedback"), {"method": "visit", "note": "上门回访，居民认可"}, format="json")
    assert fed_back.status_code == 200 and fed_back.json()["state"] == S.AWAITING_EVALUATION
    actions = [e.action for e in Appeal.objects.get(pk=appeal.pk).events.order_by("id")]
    assert actions[-3:] == [A.RESOLVE, A.VERIFY_PASS, A.FEEDBACK] and A.VERIFY_FAIL in actions


def test_unsatisfied_evaluation_sends_it_back_for_rework(city, staff, public):
    appeal = receive(city, category=grid_category())
    worker = staff(city.users.grid_worker)
    worker.post(url(appeal, "sign"), {}, format="json")
    worker.post(url(appeal, "resolve"), {"result": "已清理"}, format="json")
    half = public.post(track_url(appeal), {"phone_last4": "5678", "rating": Rating.UNSATISFIED}, format="json")
    assert half.status_code == 400 and set(half.json()) == {"solved"}
    rework = public.post(track_url(appeal), {"phone_last4": "5678", "solved": False, "rating": Rating.UNSATISFIED,
                                             "comment": "垃圾又堆起来了"}, format="json")
    assert rework.status_code == 200 and rework.json()["state"] == S.IN_PROGRESS
    assert Appeal.objects.get(pk=appeal.pk).rework_count == 1
    assert "resolve" in worker.get(url(appeal)).json()["actions"]


def test_resident_withdraws_before_it_is_signed_for(city, public, staff):
    appeal = receive(city, category=grid_category())
    body = {"phone_last4": "5678", "withdraw": True, "reason": "已自行解决"}
    withdrawn = public.post(track_url(appeal), body, format="json")
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == S.WITHDRAWN
    again = public.post(track_url(appeal), body, format="json")
    assert again.status_code == 409 and "已撤回" in again.json()["detail"]


def test_stale_version_answers_409(city, staff):
    appeal = receive(city, category=grid_category())
    seen = appeal.version
    worker = staff(city.users.grid_worker)
    assert worker.post(url(appeal, "note"), {"note": "已联系物业", "expected_version": seen}, format="json").status_code == 200
    stale = worker.post(url(appeal, "sign"), {"expected_version": seen}, format="json")
    assert stale.status_code == 409 and "已变更" in stale.json()["detail"] and stale.json()["code"] == "conflict"
    assert Appeal.objects.get(pk=appeal.pk).state == S.DISPATCHED


# --- 409 / 404 / 403 -----------------------------------------------------------------------------

# A body each action would accept, so that only the state can refuse it.
VALID_BODIES = {
    "dispatch": {"unit_level": "grid", "unit_code": "110101001001001", "category": "01001"},
    "decline": {"reason": "重复诉求"},
    "merge": {"target": "TARGET"},
    "sign": {"contact": True},
    "contact": {"note": "已电话联系"},
    "return": {"reason": "非本网格职责"},
    "reroute": {"reason": "类别有误", "category": "01002"},
    "resolve": {"result": "已处理"},
    "verify": {"passed": True},
    "feedback": {"method": "phone"},
    "note": {"note": "进展"},
    "whistle": {"departments": ["110101-CG"]},
    "checkin": {"note": "已报到"},
}
SERVICE_ACTION = {"verify": A.VERIFY_PASS}


def _appeal_in(city, state: str) -> Appeal:
    """An appeal put straight into ``state`` (test setup: the refusal is what is tested)."""
    appeal = receive(city, category=grid_category())
    Appeal.objects.filter(pk=appeal.pk).update(state=state, queue_level=QueueLevel.COMMUNITY)
    appeal.refresh_from_db()
    return appeal


@pytest.mark.parametrize("state", list(AppealState))
def test_every_illegal_transition_answers_409(city, staff, state):
    verified_category()
    target = receive(city, category=grid_category())
    appeal = _appeal_in(city, state)
    client = staff(city.users.street_officer)
    illegal = [segment for segment in VALID_BODIES
               if state not in workflow.sources(SERVICE_ACTION.get(segment, segment))]
    assert illegal, "every state refuses some action"
    version, events = appeal.version, appeal.events.count()
    for segment in illegal:
        body = {**VALID_BODIES[segment]}
        if segment == "merge":
            body["target"] = target.tracking_code
        response = client.post(url(appeal, segment), body, format="json")
        assert response.status_code == 409, (segment, response.content)
        assert str(AppealState(state).label) in response.json()["detail"]
        # Bad input does not mask the refusal either: the state is said first.
        assert client.post(url(appeal, segment), {}, format="json").status_code == 409, segment
    appeal.refresh_from_db()
    assert (appeal.state, appeal.version, appeal.events.count()) == (state, version, events)


@pytest.mark.parametrize("who", ["outsider", "volunteer", "grid_worker2"])
def test_outsider_gets_404_on_the_detail_and_every_action(city, staff, who):
    appeal = receive(city, category=grid_category())
    client = staff(getattr(city.users, who))
    missing = client.get(url(appeal))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    for segment, body in VALID_BODIES.items():
        assert client.post(url(appeal, segment), body, format="json").status_code == 404, segment
        assert client.post(url(appeal, segment), {}, format="json").status_code == 404, segment
    assert appeal.tracking_code not in [r["tracking_code"] for r in client.get("/api/v1/appeals/").json()["results"]]
    assert client.get(url("NOSUCHCODE234")).status_code == 404
    assert Appeal.objects.get(pk=appeal.pk).version == appeal.version


@pytest.mark.parametrize("who", ["supervisor", "district_supervisor"])
def test_supervisor_reads_but_gets_403_with_a_reason(city, staff, who):
    appeal = receive(city, category=grid_category())
    client = staff(getattr(city.users, who))
    detail = client.get(url(appeal))
    assert detail.status_code == 200
    # Their one write, the 督办意见, is all they are offered.
    assert detail.json()["actions"] == ["supervise"] and detail.json()["phone"] == "138****5678"
    assert not AccessLog.objects.exists()  # a masked phone is no personal-data view
    for segment in ("sign", "note", "whistle"):
        refused = client.post(url(appeal, segment), VALID_BODIES[segment], format="json")
        assert refused.status_code == 403, segment
        assert refused.json()["code"] == "forbidden" and "督查考核账号只读" in refused.json()["detail"]


def test_a_unit_that_does_not_handle_it_gets_403_with_the_reason(city, staff):
    appeal = receive(city, category=grid_category())  # handled by grid A1
    refused = staff(city.users.street_officer).post(url(appeal, "sign"), {}, format="json")
    assert refused.status_code == 403 and refused.json()["detail"] == "只有当前办理单位可以签收。"
    assert staff(city.users.department_handler).get(url(appeal)).status_code == 404


# --- bad input ------------------------------------------------------------------------------------


def test_intake_bad_input_gives_400_with_what_to_fix(city, public):
    grid_category()
    cases = [
        ({"phone": "12345"}, "detail", "手机号“12345”无效"),
        ({"phone": "010-65001234"}, "detail", "手机号"),  # the public intake needs a mobile
        ({"phone": None}, "phone", "请填写手机号"),
        ({"description": None}, "description", "请填写诉求内容。"),
        ({"description": "   "}, "description", "请填写诉求内容。"),
        ({"description": "长" * 4001}, "detail", "4000"),
        ({"category": "99999"}, "category", "找不到编码为“99999”的诉求类别"),
        ({"building": "1101010010010019999"}, "building", "找不到编码为“1101010010010019999”的楼栋"),
        ({"building": None}, "detail", "街道"),
        ({"building": None, "street": city.street_a.code}, "detail", "地址"),
        ({"building": city.building_a1.code, "community": city.comm_c.code}, "detail", "不在"),
    ]
    for overrides, key, message in cases:
        response = public.post("/api/v1/appeals/", intake_body(city, **overrides), format="json")
        assert response.status_code == 400, (overrides, response.content)
        body = response.json()
        text = body[key] if key == "detail" else body[key][0]
        assert message in text, (overrides, body)
    assert not Appeal.objects.exists()


def test_intake_by_address_in_words_waits_in_the_community_queue(city, public, staff):
    created = public.post("/api/v1/appeals/", intake_body(
        city, building=None, category=None, community=city.comm_a.code, address_text="和平里东街路口",
    ), format="json")
    assert created.status_code == 201 and created.json()["state"] == S.RECEIVED
    appeal = Appeal.objects.get(tracking_code=created.json()["tracking_code"])
    assert appeal.queue_level == QueueLevel.COMMUNITY and appeal.street == city.street_a

    grid_category()
    community = staff(city.users.community_worker)
    assert community.get(url(appeal)).json()["actions"][:3] == ["dispatch", "decline", "merge"]
    no_category = community.post(url(appeal, "dispatch"), {"unit_level": "grid", "unit_code": city.grid_a1.code},
                                 format="json")
    assert no_category.status_code == 400 and "类别" in no_category.json()["detail"]
    unknown = community.post(url(appeal, "dispatch"), {"unit_level": "grid", "unit_code": "110101001001999",
                                                       "category": "01001"}, format="json")
    assert unknown.status_code == 400 and "110101001001999" in unknown.json()["unit_code"][0]
    half = community.post(url(appeal, "dispatch"), {"unit_level": "grid", "category": "01001"}, format="json")
    assert half.status_code == 400 and "unit_code" in half.json()
    dispatched = community.post(url(appeal, "dispatch"), {"unit_level": "grid", "unit_code": city.grid_a1.code,
                                                          "category": "01001"}, format="json")
    assert dispatched.status_code == 200, dispatched.content
    assert dispatched.json()["state"] == S.DISPATCHED and dispatched.json()["grid"] == city.grid_a1.code


def test_action_input_errors_name_the_field(city, staff):
    appeal = receive(city, category=grid_category())
    worker = staff(city.users.grid_worker)
    no_reason = worker.post(url(appeal, "return"), {}, format="json")
    assert no_reason.status_code == 400 and no_reason.json() == {"reason": ["请填写退单理由。"]}
    bad_version = worker.post(url(appeal, "sign"), {"expected_version": "x"}, format="json")
    assert bad_version.status_code == 400 and "expected_version" in bad_version.json()
    worker.post(url(appeal, "sign"), {}, format="json")
    no_result = worker.post(url(appeal, "resolve"), {"result": ""}, format="json")
    assert no_result.status_code == 400 and no_result.json() == {"result": ["请填写办理结果。"]}


def test_whistle_and_checkin_through_the_api(city, staff):
    appeal = receive(city, category=grid_category())
    street, department = staff(city.users.street_officer), staff(city.users.department_handler)
    staff(city.users.grid_worker).post(url(appeal, "sign"), {}, format="json")
    unknown = street.post(url(appeal, "whistle"), {"departments": ["110101-XX"]}, format="json")
    assert unknown.status_code == 400 and "110101-XX" in unknown.json()["departments"][0]
    assert street.post(url(appeal, "whistle"), {"departments": []}, format="json").status_code == 400
    whistled = street.post(url(appeal, "whistle"), {"departments": ["110101-CG"], "note": "请城管协助"}, format="json")
    assert whistled.status_code == 200, whistled.content
    # Whistled in, the department now sees it and may check in, once.
    assert department.get(url(appeal)).json()["actions"] == ["note", "checkin"]
    assert department.post(url(appeal, "checkin"), {"note": "已到场"}, format="json").status_code == 200
    detail = department.get(url(appeal)).json()
    assert detail["co_handlers"][0]["department"] == "110101-CG" and detail["co_handlers"][0]["checked_in_at"]
    again = department.post(url(appeal, "checkin"), {}, format="json")
    assert again.status_code == 403 and "报到" in again.json()["detail"]


def test_reroute_merge_and_decline(city, staff, public):
    community = staff(city.users.community_worker)
    first = receive(city, building=None, community=city.comm_a, address_text="和平里东街路口")
    second = receive(city, building=None, community=city.comm_a, address_text="和平里东街路口")
    third = receive(city, building=None, community=city.comm_a, address_text="和平里西街")
    moved = community.post(url(first, "reroute"), {"reason": "需街道协调", "to_street": True}, format="json")
    assert moved.status_code == 200 and moved.json()["queue_level"] == QueueLevel.STREET
    merged = community.post(url(second, "merge"), {"target": third.tracking_code.lower()}, format="json")
    assert merged.status_code == 200 and merged.json()["state"] == S.DECLINED
    assert Appeal.objects.get(pk=second.pk).merged_into_id == third.pk
    assert community.get(url(second)).json()["merged_into"] == third.tracking_code
    declined = community.post(url(third, "decline"), {"reason": "不属于受理范围"}, format="json")
    assert declined.status_code == 200 and declined.json()["state"] == S.DECLINED


# --- rate limits -----------------------------------------------------------------------------------


def test_intake_rate_limit_per_address_and_per_phone(city, public, settings):
    grid_category()
    settings.APPEAL_INTAKE_RATE_PER_IP = "2/hour"
    for _i in range(2):
        assert public.post("/api/v1/appeals/", intake_body(city), format="json").status_code == 201
    limited = public.post("/api/v1/appeals/", intake_body(city, phone="13900001111"), format="json")
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert "频繁" in limited.json()["detail"]
    assert Appeal.objects.count() == 2

    settings.APPEAL_INTAKE_RATE_PER_PHONE = "1/day"
    other = APIClient(REMOTE_ADDR="10.0.0.9")
    assert other.post("/api/v1/appeals/", intake_body(city, phone="13700001234"), format="json").status_code == 201
    # The same number written differently is still the same number.
    again = APIClient(REMOTE_ADDR="10.0.0.10").post(
        "/api/v1/appeals/", intake_body(city, phone="+86 137 0000 1234"), format="json"
    )
    assert again.status_code == 429 and "手机号" in again.json()["detail"]
    assert Appeal.objects.count() == 3


def test_tracking_wrong_digits_404_with_tries_left_then_the_code_pauses(city, public, settings):
    settings.APPEAL_TRACK_FAILURES_PER_CODE = "3/hour"
    appeal = receive(city, category=grid_category())
    bad_format = public.post(track_url(appeal), {"phone_last4": "56a8"}, format="json")
    assert bad_format.status_code == 400 and "phone_last4" in bad_format.json()
    for last4, left in (("0000", 2), ("1111", 1)):
        wrong = public.post(track_url(appeal), {"phone_last4": last4}, format="json")
        assert wrong.status_code == 404 and wrong.json()["tries_left"] == left
        assert wrong.json()["detail"] == f"查询码或手机号后四位不正确，还可尝试 {left} 次。"
    wrong_post = public.post(track_url(appeal), {"phone_last4": "2222", "withdraw": True}, format="json")
    assert wrong_post.status_code == 404 and wrong_post.json()["tries_left"] == 0
    assert "验证已暂停至" in wrong_post.json()["detail"]
    # Used up: the code's check is paused, for everybody, whatever the address…
    for client in (public, APIClient(REMOTE_ADDR="10.0.0.7")):
        paused = client.post(track_url(appeal), {"phone_last4": "5678"}, format="json")
        assert paused.status_code == 429 and paused.json()["code"] == "tracking_paused"
        assert paused.json()["tries_left"] == 0 and 0 < int(paused["Retry-After"]) <= 3600
    # …and another code is not.
    other = receive(city, category=grid_category(), phone="13900002222")
    assert public.post(track_url(other), {"phone_last4": "2222"}, format="json").status_code == 200
    assert Appeal.objects.get(pk=appeal.pk).state == S.DISPATCHED


# --- the list ---------------------------------------------------------------------------------------


def test_list_is_scoped_filtered_and_masked(city, staff):
    cat = grid_category()
    mine = receive(city, category=cat)
    other_grid = receive(city, category=cat, building=city.building_a2, phone="13900001111")
    elsewhere = receive(city, category=cat, building=city.building_c1, phone="13600002222")
    waiting = receive(city, building=None, community=city.comm_a, address_text="和平里东街路口", phone="13500003333")
    Appeal.objects.filter(pk=other_grid.pk).update(deadline=timezone.now() - timezone.timedelta(hours=1))

    def codes(user, **params):
        response = staff(user).get("/api/v1/appeals/", params)
        assert response.status_code == 200, response.content
        return {row["tracking_code"] for row in response.json()["results"]}

    u = city.users
    assert codes(u.community_worker) == {mine.tracking_code, other_grid.tracking_code, waiting.tracking_code}
    assert codes(u.outsider) == {elsewhere.tracking_code}
    assert codes(u.grid_worker) == {mine.tracking_code}
    assert codes(u.volunteer) == set()
    assert len(codes(u.supervisor)) == 4
    assert codes(u.community_worker, state=S.RECEIVED) == {waiting.tracking_code}
    assert codes(u.community_worker, grid=city.grid_a2.code) == {other_grid.tracking_code}
    assert codes(u.community_worker, overdue="true") == {other_grid.tracking_code}
    assert codes(u.community_worker, overdue="false") == {mine.tracking_code, waiting.tracking_code}
    assert codes(u.community_worker, category="01001") == {mine.tracking_code, other_grid.tracking_code}
    assert codes(u.community_worker, search="13900001111") == {other_grid.tracking_code}
    assert codes(u.community_worker, search=mine.tracking_code.lower()) == {mine.tracking_code}
    assert codes(u.community_worker, search="东街") == {waiting.tracking_code}
    # A filter never widens the scope.
    assert codes(u.community_worker, community=city.comm_c.code) == set()
    today = timezone.localdate().isoformat()
    assert len(codes(u.community_worker, created_from=today, created_to=today)) == 3
    assert codes(u.community_worker, created_to="2000-01-01") == set()

    rows = staff(u.community_worker).get("/api/v1/appeals/", {"search": "13900001111"}).json()["results"]
    assert rows[0]["phone"] == "139****1111" and rows[0]["overdue"] is True
    assert rows[0]["handling_unit"] == "甲一社区第二网格"
    bad = staff(u.community_worker).get("/api/v1/appeals/", {"grid": "123", "state": "nope"})
    assert bad.status_code == 400 and set(bad.json()) == {"grid", "state"}
    assert APIClient().get("/api/v1/appeals/").status_code in (401, 403)


def test_street_and_community_filters_give_the_rows_and_order_of_the_territory_prefix(city, staff):
    # ?street= and ?community= are equality on the appeal's unit keys (appeals.filters), read
    # through appeal_street_state_created / appeal_comm_state_created; they must list exactly
    # what the code prefix on territory_code listed, newest first, within each account's
    # jurisdiction, page after page.
    from datetime import timedelta

    from appeals.selectors import appeal_scope
    from governance.staff.selectors import jurisdiction_for

    cat = grid_category()
    places = [{"building": city.building_a1}, {"building": city.building_a2}, {"building": city.building_b1},
              {"building": city.building_c1}, {"building": None, "community": city.comm_a, "address_text": "东街路口"},
              {"building": None, "street": city.street_a, "address_text": "甲街道某处"}]
    appeals = [receive(city, category=cat, phone=f"1380000{i:04d}", **places[i % len(places)]) for i in range(18)]
    # Routed to a department: in its scope by the route, not by its place.
    appeals += [receive(city, category=component_department_category(), building=building, phone=f"1370000{i:04d}")
                for i, building in enumerate((city.building_c1, city.building_a1, city.building_c1))]
    base = timezone.now() - timedelta(days=3)
    for i, appeal in enumerate(appeals):
        # Ties on created_at (broken by the id, newest first) and an order unlike the ids'.
        Appeal.objects.filter(pk=appeal.pk).update(
            created_at=base + timedelta(hours=(i * 7) % 5), state=S.CLOSED if i % 3 else S.DISPATCHED)

    def listed(user, **params):
        client, page, rows = staff(user), {"page_size": 2, **params}, []
        response = client.get("/api/v1/appeals/", page)
        while True:
            assert response.status_code == 200, response.content
            rows += [row["tracking_code"] for row in response.json()["results"]]
            if not response.json()["next"]:
                return rows, response.json()["count"]
            response = client.get(response.json()["next"])

    u = city.users
    seen = 0
    for user in (u.supervisor, u.district_supervisor, u.street_officer, u.community_worker, u.grid_worker,
                 u.outsider, u.department_handler):
        scope = appeal_scope(jurisdiction_for(user))
        for level, unit in (("community", city.comm_a), ("community", city.comm_a2), ("community", city.comm_c),
                            ("street", city.street_a), ("street", city.street_b)):
            for state in (S.DISPATCHED, S.CLOSED):
                expected = list(scope.filter(state=state, territory_code__startswith=unit.code)
                                .order_by("-created_at", "-id").values_list("tracking_code", flat=True))
                assert listed(user, **{level: unit.code, "state": state}) == (expected, len(expected)), (
                    user, unit, state)
                seen += len(expected)
        # Both filters at once: the community's rows (none where it is not in the street).
        assert listed(user, street=city.street_b.code, community=city.comm_a.code) == ([], 0)
    assert seen > 30  # the comparison compared rows, not empty lists
    # The department sees its routed appeals of a community outside any prefix of its own.
    assert len(listed(u.department_handler, community=city.comm_c.code)[0]) == 2
    # The community's own appeals only: not those of its street without a community.
    assert len(listed(u.supervisor, community=city.comm_a.code)[0]) == 10
    assert len(listed(u.supervisor, street=city.street_a.code)[0]) == 16
    # An unknown community lists nothing; a malformed code is a 400 naming the field.
    assert listed(u.supervisor, community="110101009009") == ([], 0)
    bad = staff(u.supervisor).get("/api/v1/appeals/", {"community": "11010100100"})
    assert bad.status_code == 400 and set(bad.json()) == {"community"}


def test_department_sees_what_is_routed_to_it(city, staff):
    routed = receive(city, category=component_department_category())
    receive(city, category=grid_category())
    rows = staff(city.users.department_handler).get("/api/v1/appeals/").json()["results"]
    assert [r["tracking_code"] for r in rows] == [routed.tracking_code]
    assert rows[0]["handling_level"] == "department" and rows[0]["handling_unit"] == "城管"


def test_list_queries_are_bounded(city, staff, django_assert_max_num_queries):
    cat = grid_category()
    client = staff(city.users.community_worker)
    buildings = [city.building_a1, city.building_a2]

    def fill(n):
        for i in range(Appeal.objects.count(), n):
            if i % 3 == 2:
                receive(city, building=None, community=city.comm_a, address_text=f"路口{i}", phone=f"1370000{i:04d}")
            else:
                receive(city, category=cat, building=buildings[i % 2], phone=f"1380000{i:04d}")

    for n in (5, 60):
        fill(n)
        with django_assert_max_num_queries(3):
            response = client.get("/api/v1/appeals/", {"page_size": 100})
        assert response.json()["count"] == n
        for unit in ({"community": city.comm_a.code}, {"street": city.street_a.code}):
            with django_assert_max_num_queries(3):
                response = client.get("/api/v1/appeals/", {"page_size": 100, **unit})
            assert response.json()["count"] == n


# --- public bits --------------------------------------------------------------------------------------


def test_categories_are_public(city, public):
    grid_category()
    component_department_category()
    CategoryFactory(code="09009", name="已停用类别", active=False)
    response = public.get("/api/v1/categories/")
    assert response.status_code == 200
    by_code = {c["code"]: c for c in response.json()}
    assert set(by_code) == {"01001", "03001"}
    manhole = by_code["03001"]
    assert manhole["class_name"] == "公用设施" and manhole["type"] == "component" and manhole["urgent"] is True
    assert (manhole["resolution_limit"], manhole["resolution_unit"], manhole["response_hours"]) == (2, "hours", 1)
    assert manhole["limit_label"] == "2小时" and manhole["needs_verification"] is False


def test_photos_via_multipart(city, public, staff):
    grid_category()
    body = {**intake_body(city), "photos": [jpeg("a.jpg"), jpeg("b.jpg")]}
    created = public.post("/api/v1/appeals/", body, format="multipart")
    assert created.status_code == 201, created.content
    appeal = Appeal.objects.get(tracking_code=created.json()["tracking_code"])
    assert AppealAttachment.objects.filter(appeal=appeal, kind="intake").count() == 2

    worker = staff(city.users.grid_worker)
    photos = worker.get(url(appeal)).json()["timeline"][0]["photos"]
    stored = AppealAttachment.objects.filter(appeal=appeal).order_by("pk")
    # Served by the API's photo endpoint (jurisdiction checked), never by a public /media/ URL.
    assert [p["url"] for p in photos] == [
        f"http://testserver/api/v1/appeals/{appeal.tracking_code}/photos/{a.pk}/" for a in stored]
    # Stored under a new random name (which may well end in "a.jpg" by chance), not the upload's.
    assert stored[0].image.name.endswith(".jpg") and not stored[0].image.name.endswith("/a.jpg")

    worker.post(url(appeal, "sign"), {}, format="json")
    not_an_image = SimpleUploadedFile("fake.jpg", b"not really a photo", content_type="image/jpeg")
    refused = worker.post(url(appeal, "resolve"), {"result": "已清理", "photos": [not_an_image]}, format="multipart")
    assert refused.status_code == 400 and "不是有效的图片" in refused.json()["detail"]
    resolved = worker.post(url(appeal, "resolve"), {"result": "已清理", "photos": [jpeg()]}, format="multipart")
    assert resolved.status_code == 200, resolved.content
    assert AppealAttachment.objects.filter(appeal=appeal, kind="result").count() == 1

    too_many = public.post("/api/v1/appeals/", {**intake_body(city), "photos": [jpeg() for _i in range(4)]},
                           format="multipart")
    assert too_many.status_code == 400 and "3" in too_many.json()["detail"]


def test_anonymous_intake_needs_no_csrf_token_even_beside_a_session(city, client):
    # A browser that is logged in to the staff site posts JSON without a CSRF token:
    # the public intake reads no session, so nothing is done in the staff member's name.
    grid_category()
    client.force_login(city.users.grid_worker)
    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.cookies = client.cookies
    created = csrf_client.post("/api/v1/appeals/", intake_body(city), format="json")
    assert created.status_code == 201
    event = Appeal.objects.get(tracking_code=created.json()["tracking_code"]).events.get(action=A.RECEIVE)
    assert event.actor is None and event.actor_label == "居民"
    # The staff list still needs the session's CSRF check for unsafe methods only: GET works.
    assert csrf_client.get("/api/v1/appeals/").status_code == 200


def test_schema_documents_the_appeals_api():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    for segment in VALID_BODIES:
        operation = paths[f"/api/v1/appeals/{{tracking_code}}/{segment}/"]["post"]
        assert {"400", "403", "404", "409"} <= set(operation["responses"]), segment
    intake = paths["/api/v1/appeals/"]["post"]
    assert "security" not in intake or intake["security"] in ([], [{}])
    assert "multipart/form-data" in intake["requestBody"]["content"]
    list_params = {p["name"] for p in paths["/api/v1/appeals/"]["get"]["parameters"]}
    assert {"state", "category", "grid", "community", "street", "overdue", "created_from", "created_to",
            "search", "page"} <= list_params
    track = paths["/api/v1/track/{tracking_code}/"]
    body = track["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "phone_last4" in schema["components"]["schemas"][body]["required"]
    assert set(track["post"]["responses"]) >= {"200", "404", "429"}
    assert track["get"]["deprecated"] and set(track["get"]["responses"]) == {"400"}


def test_photo_urls_answer_with_the_photo_inside_the_jurisdiction_only(city, public, staff):
    """The API's photo URLs work with the same token (the /media/ URLs they used to give
    answered 404); outside the jurisdiction a photo does not exist; /media/ serves nothing."""
    grid_category()
    created = public.post("/api/v1/appeals/", {**intake_body(city), "photos": [jpeg("a.jpg")]}, format="multipart")
    code = created.json()["tracking_code"]
    token = APIClient().post("/api/v1/auth/token/", {"username": "grid_worker", "password": PASSWORD}).json()["token"]
    worker = APIClient()
    worker.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    [photo] = worker.get(url(code)).json()["timeline"][0]["photos"]
    answer = worker.get(photo["url"], HTTP_ACCEPT="image/avif,image/webp,image/*,*/*;q=0.8")
    assert answer.status_code == 200 and answer["Cache-Control"] == "private, max-age=3600"
    body = b"".join(answer.streaming_content)
    assert body.startswith(b"\xff\xd8")  # a JPEG
    assert staff(city.users.outsider).get(photo["url"]).status_code == 404
    assert APIClient().get(photo["url"]).status_code in (401, 403)
    attachment = AppealAttachment.objects.get(appeal__tracking_code=code)
    assert APIClient().get(f"/media/{attachment.image.name}").status_code == 404


def test_the_building_field_is_the_building_code(city, staff):
    appeal = receive(city, category=grid_category())
    client = staff(city.users.grid_worker)
    [row] = client.get("/api/v1/appeals/").json()["results"]
    assert row["building"] == city.building_a1.code == "1101010010010010001"
    assert client.get(url(appeal)).json()["building"] == city.building_a1.code
    waiting = receive(city, building=None, community=city.comm_a, address_text="和平里东街路口", phone="13500003333")
    assert staff(city.users.community_worker).get(url(waiting)).json()["building"] is None
