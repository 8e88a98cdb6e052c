"""Residents' deliberation (民主协商, issue 22 §2): the meeting loop — a meeting with linked
appeals → minutes and decisions → decision done → appeals resolved with it → residents
evaluate — who may do what, the public notice (no names), and the pages' query counts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appeals import services
from appeals.deliberation import selectors
from appeals.deliberation import services as meetings
from appeals.deliberation.enums import DecisionState, MeetingKind, MeetingState, ParticipantRole
from appeals.deliberation.models import Meeting
from appeals.enums import AppealAction, AppealState, ExtensionState, Rating
from appeals.models import ExtensionRequest
from appeals.services import appeal_evaluate
from governance.kernel.clock import CHINA
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from tests.appeals.factories import community_category, component_department_category, grid_category, receive

A = AppealAction
S = AppealState
pytestmark = pytest.mark.django_db
ESTATE = "和平里小区"


@pytest.fixture
def place(city):
    for b in (city.building_a1, city.building_a2):
        b.compound = ESTATE
        b.save(update_fields=["compound"])
    return city


def _signed(city, user, category, building, **kw):
    appeal = receive(city, category=category, building=building, **kw)
    return services.appeal_act(actor=user, appeal=appeal, action=A.SIGN)


def _meeting(city, kind=MeetingKind.HEARING, category=None, **kw):
    return meetings.meeting_schedule(
        actor=city.users.community_worker, community_code=city.comm_a.code, kind=kind, topic="和平里小区停车难",
        place="社区党群服务中心", starts_at=timezone.now() - timedelta(hours=2), estate=ESTATE,
        category_id=category.pk if category else None, **kw)


def _today():
    return timezone.now().astimezone(CHINA).date()


def test_the_meeting_loop_from_linked_appeals_to_the_residents_evaluation(place, django_capture_on_commit_callbacks):
    city, u = place, place.users
    garbage = grid_category()
    first = _signed(city, u.grid_worker, garbage, city.building_a1, phone="13812345678")
    second = _signed(city, u.grid_worker2, garbage, city.building_a2, phone="13900001111", name="李秀英")
    noise = receive(city, category=community_category(), building=city.building_a1, phone="13700002222")
    assert noise.handling_level == "community" and noise.state == S.DISPATCHED
    pipe = receive(city, category=component_department_category(), building=city.building_a2, phone="13600003333")
    assert pipe.handling_level == "department"
    elsewhere = receive(city, category=garbage, building=city.building_c1)
    meeting = _meeting(city, category=garbage)

    # The list offers the related open appeals: same category, same estate, within 90 days.
    offered = {a.tracking_code for a in selectors.related_open_appeals(meeting)}
    assert offered == {first.tracking_code, second.tracking_code}

    # Linking: one 提交议事 event each (no state change, the clock runs on); the extension
    # to the decision's due date is asked through the existing flow where the community
    # handles the appeal, and refused with the reason where a grid or a department does.
    extend_to = _today() + timedelta(days=60)
    codes = [first.tracking_code, second.tracking_code, noise.tracking_code, pipe.tracking_code]
    with django_capture_on_commit_callbacks(execute=True):
        outcome = meetings.meeting_link(actor=u.community_worker, meeting=meeting, codes=codes, extend_to=extend_to)
    assert outcome.linked == codes
    assert outcome.extension_requested == [noise.tracking_code]
    assert {c for c, _why in outcome.extension_refused} == {first.tracking_code, second.tracking_code, pipe.tracking_code}
    request = ExtensionRequest.objects.get(appeal=noise)
    assert request.state == ExtensionState.PENDING and request.level == "community"
    assert request.requested_deadline == meetings.extension_deadline(extend_to)
    for appeal in (first, second, noise, pipe):
        before = appeal.state
        appeal.refresh_from_db()
        event = appeal.events.get(action=A.DELIBERATE)
        assert (event.from_state, event.to_state, appeal.state) == (before, before, before)
        assert event.data["meeting"] == meeting.pk and "和平里小区停车难" in event.note
        assert event.actor == u.community_worker
    # The resident's tracking page says when and where (no names: the 公示 shows the same).
    step = next(s for s in selectors_track(first) if s.action == A.DELIBERATE)
    assert "和平里小区停车难" in step.note and "社区党群服务中心" in step.note
    # Linking again is idempotent; an appeal of another community is refused.
    assert meetings.meeting_link(actor=u.community_worker, meeting=meeting, codes=[first.tracking_code]).linked == []
    with pytest.raises(ApplicationError, match="不属于本社区"):
        meetings.meeting_link(actor=u.community_worker, meeting=meeting, codes=[elsewhere.tracking_code])
    assert selectors.related_open_appeals(meeting) == []

    # The record: residents counted, the others named by role; a hearing's show of hands.
    meetings.meeting_record(
        actor=u.community_worker, meeting=meeting, residents_count=36, minutes="议定在小区东侧空地施划临时车位。",
        participants=[(ParticipantRole.PROPERTY, "和平物业公司"), (ParticipantRole.DEPUTY, "张代表"), ("", "")],
        votes=(30, 4, 2))
    meeting.refresh_from_db()
    assert meeting.state == MeetingState.HELD and meeting.residents_count == 36 and meeting.votes_for == 30
    assert set(meeting.participants.values_list("name", flat=True)) == {"张代表", "和平物业公司"}
    decision = meetings.decision_add(actor=u.community_worker, meeting=meeting, kind="decision",
                                     text="施划临时停车位40个", owner="和平物业公司", due_date=_today() + timedelta(days=30))
    meetings.decision_update(actor=u.community_worker, decision=decision, state=DecisionState.IN_PROGRESS,
                             progress="已完成测量")

    # Done: the appeals the community or its grids hold in progress are resolved with it
    # (each through the resolve action: the result SMS is the feedback); the others get a note.
    with django_capture_on_commit_callbacks(execute=True):
        done = meetings.decision_update(actor=u.community_worker, decision=decision, state=DecisionState.DONE,
                                        resolve_appeals=True)
    assert sorted(done.resolved) == sorted([first.tracking_code, second.tracking_code])
    assert sorted(done.noted) == sorted([noise.tracking_code, pipe.tracking_code])
    decision.refresh_from_db()
    assert decision.state == DecisionState.DONE and decision.done_on_time
    for appeal in (first, second):
        appeal.refresh_from_db()
        assert appeal.state == S.AWAITING_EVALUATION and "施划临时停车位40个" in appeal.result
        assert appeal.events.filter(action=A.RESOLVE, actor=u.community_worker).count() == 1
        assert appeal.events.filter(action=A.FEEDBACK, data__method="sms").count() == 1
    for appeal in (noise, pipe):
        state = appeal.state
        appeal.refresh_from_db()
        assert appeal.state == state
        note = appeal.events.get(action=A.DELIBERATION_NOTE)
        assert note.data == {"meeting": meeting.pk, "decision": decision.pk, "state": "done"}
        assert "施划临时停车位40个" in note.note
    with pytest.raises(Conflict, match="已完成"):
        meetings.decision_update(actor=u.community_worker, decision=decision, state=DecisionState.DONE)

    # The residents still evaluate, as for any result.
    closed = appeal_evaluate(tracking_code=first.tracking_code, phone_last4="5678", solved=True,
                             rating=Rating.SATISFIED)
    assert closed.state == S.CLOSED and closed.rating == Rating.SATISFIED
    reworked = appeal_evaluate(tracking_code=second.tracking_code, phone_last4="1111", solved=False,
                               rating=Rating.UNSATISFIED, comment="车位不够")
    assert reworked.state == S.IN_PROGRESS


def test_only_the_communitys_staff_act_and_the_rules_of_each_type(place, client):
    city, u = place, place.users
    meeting = _meeting(city)
    with pytest.raises(ActionForbidden):
        meetings.meeting_schedule(actor=u.street_officer, community_code=city.comm_a.code, kind="hearing",
                                  topic="x", place="y", starts_at=timezone.now())
    for user in (u.outsider, u.street_officer, u.grid_worker, u.supervisor):
        with pytest.raises(ActionForbidden):
            meetings.meeting_record(actor=user, meeting=meeting, residents_count=1, minutes="x")
    with pytest.raises(Conflict, match="先记录会议"):
        meetings.decision_add(actor=u.community_worker, meeting=meeting, kind="decision", text="x", owner="y",
                              due_date=_today())
    with pytest.raises(ApplicationError, match="只用于民主评议会"):
        meetings.meeting_record(actor=u.community_worker, meeting=meeting, residents_count=3, minutes="x",
                                ratings=(1, 1, 1))
    with pytest.raises(ApplicationError, match="不记姓名"):
        meetings.meeting_record(actor=u.community_worker, meeting=meeting, residents_count=None, minutes="x")
    evaluation = _meeting(city, kind=MeetingKind.EVALUATION)
    with pytest.raises(ApplicationError, match="意见表决只用于民意听证会"):
        meetings.meeting_record(actor=u.community_worker, meeting=evaluation, residents_count=3, minutes="x",
                                votes=(1, 0, 0), evaluated_unit="和平物业公司", ratings=(1, 1, 1))
    with pytest.raises(ApplicationError, match="满意"):
        meetings.meeting_record(actor=u.community_worker, meeting=evaluation, residents_count=3, minutes="x",
                                evaluated_unit="和平物业公司")
    meetings.meeting_record(actor=u.community_worker, meeting=evaluation, residents_count=20, minutes="评议物业服务",
                            evaluated_unit="和平物业公司", ratings=(12, 5, 3))
    item = meetings.decision_add(actor=u.community_worker, meeting=evaluation, kind="rectification",
                                 text="垃圾清运改为每日两次", owner="和平物业公司", due_date=_today() - timedelta(days=1))
    # An overdue 整改事项 is on the community's home, followed like a decision.
    assert selectors.overdue_decisions(jurisdiction=_jur(u.community_worker)) == (1, [item])
    assert selectors.overdue_decisions(jurisdiction=_jur(u.outsider))[0] == 0
    client.force_login(u.community_worker)
    home = client.get(reverse("home")).content.decode()
    assert "议定事项逾期" in home and "垃圾清运改为每日两次" in home
    client.force_login(u.outsider)
    assert "议定事项逾期" not in client.get(reverse("home")).content.decode()
    with pytest.raises(ApplicationError, match="整改事项只用于民主评议会"):
        meetings.meeting_record(actor=u.community_worker, meeting=meeting, residents_count=3, minutes="x")
        meetings.decision_add(actor=u.community_worker, meeting=meeting, kind="rectification", text="x", owner="y",
                              due_date=_today())
    # A closed appeal is not put to a meeting (the table's states).
    closed = receive(city, category=grid_category(), building=city.building_a1)
    closed = services.appeal_act(actor=u.grid_worker, appeal=closed, action=A.SIGN)
    Meeting.objects.filter(pk=meeting.pk)  # the meeting is still open to links
    services.appeal_act(actor=u.grid_worker, appeal=closed, action=A.RESOLVE, result="已清理")
    closed.refresh_from_db()
    appeal_evaluate(tracking_code=closed.tracking_code, phone_last4="5678", solved=True, rating=Rating.SATISFIED)
    with pytest.raises(Conflict):
        meetings.meeting_link(actor=u.community_worker, meeting=meeting, codes=[closed.tracking_code])


def selectors_track(appeal):
    from appeals.selectors import appeal_track

    return appeal_track(tracking_code=appeal.tracking_code, phone_last4=appeal.phone[-4:]).steps


def _jur(user):
    from governance.staff.selectors import jurisdiction_for

    return jurisdiction_for(user)


def test_pages_answer_by_jurisdiction_and_supervisors_see_no_records(place, client):
    city, u = place, place.users
    meeting = _meeting(city)
    meetings.meeting_record(actor=u.community_worker, meeting=meeting, residents_count=12, minutes="纪要：张三发言",
                            participants=[(ParticipantRole.PARTY_MEMBER, "李党员")])
    url = reverse("deliberation:detail", args=[meeting.pk])
    for user, status in ((u.community_worker, 200), (u.street_officer, 200), (u.outsider, 404), (u.grid_worker, 404),
                         (u.department_handler, 404), (u.supervisor, 403), (u.district_supervisor, 403)):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == status, user
        body = response.content.decode()
        assert ("李党员" in body) == (status == 200) and ("张三发言" in body) == (status == 200)
    client.force_login(u.street_officer)  # reads, does not act
    assert client.post(reverse("deliberation:record", args=[meeting.pk]), {"residents_count": 1, "minutes": "x"}
                       ).status_code == 403
    client.force_login(u.outsider)
    assert client.post(reverse("deliberation:record", args=[meeting.pk]), {"residents_count": 1, "minutes": "x"}
                       ).status_code == 404
    client.force_login(u.supervisor)
    assert client.get(reverse("deliberation:list")).status_code == 403
    with pytest.raises(NotFound):
        selectors.meeting_get(jurisdiction=_jur(u.outsider), pk=meeting.pk)


def test_the_forms_schedule_link_record_and_follow(place, client):
    city, u = place, place.users
    garbage = grid_category()
    appeal = _signed(city, u.grid_worker, garbage, city.building_a1)
    client.force_login(u.community_worker)
    when = (timezone.now() - timedelta(hours=1)).astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("deliberation:create"), {
        "community": city.comm_a.code, "kind": "coordination", "topic": "楼道堆物清理", "place": "1号楼下",
        "starts_at": when, "estate": ESTATE, "category": garbage.pk, "buildings": [city.building_a1.code]})
    assert response.status_code == 302
    meeting = Meeting.objects.get(topic="楼道堆物清理")
    assert list(meeting.buildings.all()) == [city.building_a1]
    assert client.post(reverse("deliberation:create"), {"community": city.comm_a.code, "kind": "coordination"}
                       ).status_code == 400
    detail = reverse("deliberation:detail", args=[meeting.pk])
    assert appeal.tracking_code in client.get(detail).content.decode()
    assert client.post(reverse("deliberation:link", args=[meeting.pk]), {"codes": [appeal.tracking_code]}).status_code == 302
    assert client.post(reverse("deliberation:link", args=[meeting.pk]), {"extra_code": "NOPE2"}).status_code == 400
    assert client.post(reverse("deliberation:decision-add", args=[meeting.pk]), {
        "kind": "decision", "text": "x", "owner": "y", "due_date": _today().isoformat()}).status_code == 409
    assert client.post(reverse("deliberation:record", args=[meeting.pk]), {
        "residents_count": 8, "minutes": "议定周六集中清理", "publicity_days": 7, "p-0-role": "owners_committee",
        "p-0-name": "业委会主任"}).status_code == 302
    assert client.post(reverse("deliberation:decision-add", args=[meeting.pk]), {
        "kind": "decision", "text": "周六集中清理楼道", "owner": "物业", "due_date": "bad"}).status_code == 400
    assert client.post(reverse("deliberation:decision-add", args=[meeting.pk]), {
        "kind": "decision", "text": "周六集中清理楼道", "owner": "物业", "due_date": _today().isoformat()}).status_code == 302
    decision = meeting.decisions.get()
    response = client.post(reverse("deliberation:decision-update", args=[meeting.pk, decision.pk]),
                           {"state": "done", "resolve_appeals": "on"})
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state in (S.RESOLVED, S.AWAITING_EVALUATION) and "周六集中清理楼道" in appeal.result
    assert client.post(reverse("deliberation:decision-update", args=[meeting.pk, decision.pk]),
                       {"state": "done"}).status_code == 409


def test_the_public_notice_shows_topic_and_decisions_for_the_publicity_period_and_no_names(place, client):
    city, u = place, place.users
    appeal = _signed(city, u.grid_worker, grid_category(), city.building_a1, name="王建国")
    meeting = _meeting(city)
    meetings.meeting_link(actor=u.community_worker, meeting=meeting, codes=[appeal.tracking_code])
    upcoming = meetings.meeting_schedule(
        actor=u.community_worker, community_code=city.comm_a.code, kind="consultation", topic="加装电梯意见征集",
        place="2号楼", starts_at=timezone.now() + timedelta(days=3))
    meetings.meeting_record(actor=u.community_worker, meeting=meeting, residents_count=20, minutes="纪要：赵六反对",
                            participants=[(ParticipantRole.UNIT, "钱七单位")], votes=(15, 3, 2))
    meetings.decision_add(actor=u.community_worker, meeting=meeting, kind="decision", text="施划临时车位",
                          owner="孙八经理", due_date=_today() + timedelta(days=20))
    url = reverse("public:deliberation-notice", args=[city.comm_a.code])
    body = client.get(url).content.decode()
    for shown in ("和平里小区停车难", "加装电梯意见征集", "施划临时车位", "待落实", "意见表决（不替代业主大会决定）", "赞成 15"):
        assert shown in body, shown
    for hidden in ("纪要", "赵六", "钱七", "孙八", "王建国", appeal.tracking_code, u.community_worker.username):
        assert hidden not in body, hidden
    assert client.get(reverse("public:deliberation-notice", args=[city.comm_c.code])).status_code == 200
    assert "和平里小区停车难" not in client.get(reverse("public:deliberation-notice", args=[city.comm_c.code])
                                         ).content.decode()
    assert client.get(reverse("public:deliberation-notice", args=["999"])).status_code == 404
    # After the 公示 period the held meeting leaves the page; the upcoming one stays.
    Meeting.objects.filter(pk=meeting.pk).update(held_at=timezone.now() - timedelta(days=8),
                                                 starts_at=timezone.now() - timedelta(days=8))
    items = selectors.public_notice(community_code=city.comm_a.code)
    assert [i.meeting.pk for i in items] == [upcoming.pk]


def test_the_public_notice_is_rate_limited(place, client, settings):
    settings.PUBLIC_READ_RATE_PER_IP = "2/minute"
    url = reverse("public:deliberation-notice", args=[place.comm_a.code])
    assert [client.get(url).status_code for _i in range(3)] == [200, 200, 429]


def test_list_and_detail_pages_keep_their_query_counts(place, client, django_assert_max_num_queries):
    city, u = place, place.users
    garbage = grid_category()
    appeals = [_signed(city, u.grid_worker, garbage, city.building_a1) for _i in range(6)]
    for n in range(12):
        m = _meeting(city, category=garbage)
        if n == 0:
            meetings.meeting_link(actor=u.community_worker, meeting=m, codes=[a.tracking_code for a in appeals[:5]])
            meetings.meeting_record(actor=u.community_worker, meeting=m, residents_count=5, minutes="x",
                                    participants=[(ParticipantRole.PARTY_MEMBER, f"党员{i}") for i in range(5)])
            for i in range(6):
                meetings.decision_add(actor=u.community_worker, meeting=m, kind="decision", text=f"事项{i}", owner="物业",
                                      due_date=_today())
            first = m
    client.force_login(u.community_worker)
    # Measured: 5, 10, 5 and 11 — whatever the number of meetings, appeals, participants, decisions.
    with django_assert_max_num_queries(6):
        assert client.get(reverse("deliberation:list")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("deliberation:detail", args=[first.pk])).status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get(reverse("public:deliberation-notice", args=[city.comm_a.code])).status_code == 200
    client.force_login(u.community_worker)
    with django_assert_max_num_queries(13):
        assert client.get(reverse("home")).status_code == 200


def test_the_demo_shows_meetings_with_their_appeals_and_runs_twice_safely(city):
    import io
    from types import SimpleNamespace

    from appeals import demo as appeal_demo
    from appeals.deliberation import demo

    appeal_demo.seed(None)
    out = io.StringIO()
    demo.seed(SimpleNamespace(stdout=out))
    assert "4 场议事会议" in out.getvalue()
    found = Meeting.objects.all()
    assert {m.kind for m in found} == set(MeetingKind.values)
    hearing = found.get(kind=MeetingKind.HEARING)
    assert hearing.links.count() == 4 and hearing.votes_for == 31 and hearing.participants.count() == 6
    linked = list(hearing.appeals.all())
    assert any(a.state == S.CLOSED and a.rating == Rating.SATISFIED for a in linked)
    assert all(a.events.filter(action=A.DELIBERATE).count() == 1 for a in linked)
    community_staff = city.users.community_worker
    assert selectors.overdue_decisions(jurisdiction=_jur(community_staff))[0] == 1
    demo.seed(None)
    assert Meeting.objects.count() == 4


def test_the_reports_count_meetings_held_and_decisions_done_on_time_per_community_and_month(place, client):
    from governance.assessment.periods import Period

    city, u = place, place.users
    today = _today()
    held = _meeting(city)
    meetings.meeting_record(actor=u.community_worker, meeting=held, residents_count=9, minutes="纪要：张三发言")
    on_time = meetings.decision_add(actor=u.community_worker, meeting=held, kind="decision", text="施划车位",
                                    owner="物业", due_date=today)
    meetings.decision_add(actor=u.community_worker, meeting=held, kind="decision", text="错时停车", owner="居委会",
                          due_date=today)
    meetings.decision_update(actor=u.community_worker, decision=on_time, state=DecisionState.DONE)
    _meeting(city)  # scheduled, not held: not counted
    period = Period.month(today.year, today.month)
    url = reverse("reports:unit", args=["street", city.street_a.code]) + f"?period={period.label}"
    for user in (u.street_officer, u.district_supervisor):  # supervisors see the figures
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        (row,) = response.context["report"].deliberation.rows
        assert (row["community_code"], row["held"], row["due"], row["on_time"], row["on_time_rate"]) == (
            city.comm_a.code, 1, 2, 1, 50.0)
        assert "张三" not in response.content.decode()
    export = client.get(url + "&table=deliberation&export=csv")
    assert export.status_code == 200
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "按期完成率(%)" in text and "50.00" in text
    api = client.get(reverse("api-report-unit", args=["street", city.street_a.code]) + f"?period={period.label}")
    assert api.status_code == 200 and api.json()["deliberation"]["rows"][0]["held"] == 1
