"""The deadline sweep: warnings, escalation one level up (once), the district's 督办
催办, digests per unit, manual 上报 (service and API), bounded queries, and two sweeps
at once on PostgreSQL. Time is frozen by passing ``now`` into the sweep."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appeals import escalation, workflow
from appeals.enums import AppealAction, AppealState, DeadlineUnit, EscalationLevel, HandlingLevel, Source
from appeals.models import Appeal, AppealEvent
from governance.enums import NotificationKind, Role
from governance.kernel import outbox
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from governance.models import Notification, OutboxMessage
from tests.appeals.factories import CategoryFactory, component_department_category, grid_category, receive
from tests.factories import UserFactory, post
from tests.helpers import run_at_once

A = AppealAction
L = EscalationLevel
H = HandlingLevel


def quiet(city, category):
    """An appeal taken by phone without a number: no SMS (keeps bulk set-ups fast)."""
    return receive(city, category=category, phone="", source=Source.PHONE, actor=city.users.grid_worker)


def sweep(now, **kw):
    return escalation.escalation_sweep(now=now, **kw)


def escalations(appeal) -> int:
    return AppealEvent.objects.filter(appeal=appeal, action=A.ESCALATE).count()


def inbox(user, kind=None):
    """The account's inbox once the outbox's relay has run (as the kick after the sweep's
    commit runs it)."""
    outbox.relay()
    qs = Notification.objects.filter(recipient=user)
    return list(qs.filter(kind=kind) if kind else qs)


def after(appeal, minutes=1):
    appeal.refresh_from_db()
    return appeal.level_deadline + timedelta(minutes=minutes)


@pytest.mark.django_db
def test_an_overdue_grid_appeal_goes_up_to_the_community_once(city, settings):
    settings.ESCALATION_COMMUNITY_HOURS = 24
    appeal = receive(city, category=grid_category())
    deadline, version = appeal.deadline, appeal.version
    assert sweep(appeal.level_deadline - timedelta(minutes=1)).escalated == 0  # not yet due

    now = after(appeal)
    assert sweep(now).escalated == 1
    assert sweep(now).escalated == 0  # run twice: escalated once
    assert sweep(now + timedelta(minutes=5)).escalated == 0
    appeal.refresh_from_db()
    assert appeal.escalation_level == L.COMMUNITY
    assert (appeal.handling_level, appeal.handling_community, appeal.handling_grid) == (H.COMMUNITY, city.comm_a, None)
    assert appeal.state == AppealState.DISPATCHED  # a change of level, not of state
    assert appeal.level_deadline == now + timedelta(hours=24)
    assert appeal.deadline == deadline  # the resident's deadline stays
    assert appeal.version == version + 1 and appeal.escalated_at == now
    assert escalations(appeal) == 1
    event = appeal.events.get(action=A.ESCALATE)
    assert event.actor_label == "系统" and event.data["from"] == "grid" and event.data["to"] == "community"
    # The grid worker no longer holds it; the community signs for it.
    with pytest.raises(ActionForbidden):
        escalation.appeal_escalate(actor=city.users.grid_worker, appeal=appeal, reason="再上报")
    from appeals import services

    appeal = services.appeal_act(actor=city.users.community_worker, appeal=appeal, action=A.SIGN)
    assert appeal.state == AppealState.IN_PROGRESS


@pytest.mark.django_db
def test_levels_climb_to_the_district_then_a_cuiban_each_day(city, settings):
    settings.ESCALATION_REMIND_HOURS = 24
    appeal = receive(city, category=grid_category())
    seen = []
    for _level in range(3):
        sweep(after(appeal))
        appeal.refresh_from_db()
        seen.append((appeal.escalation_level, appeal.handling_level))
    assert seen == [(L.COMMUNITY, H.COMMUNITY), (L.STREET, H.STREET), (L.DISTRICT, H.STREET)]

    # 督办: nothing is above the district; one 催办 a day while it stays overdue.
    first = after(appeal)
    results = []
    for moment in (first, first + timedelta(hours=2), first + timedelta(hours=25), first + timedelta(hours=26)):
        results.append(sweep(moment))
        outbox.relay()  # as the kick after each sweep does: a digest per sweep
    assert [r.reminded for r in results] == [1, 0, 1, 0]
    assert [r.escalated for r in results] == [0, 0, 0, 0]
    assert escalations(appeal) == 3
    assert appeal.events.filter(action=A.REMIND).count() == 2
    # The district's supervisors and the handling street are told, once per 催办.
    assert len(inbox(city.users.district_supervisor, NotificationKind.REMINDER)) == 2
    assert len(inbox(city.users.street_officer, NotificationKind.REMINDER)) == 2
    assert inbox(city.users.supervisor) == []  # city-wide: not the district's 督办 centre


@pytest.mark.django_db
def test_one_digest_per_unit_not_one_message_per_appeal(city, django_capture_on_commit_callbacks):
    u = city.users
    u.community_worker.email = "cw@example.com"
    u.community_worker.save()
    a2_worker = UserFactory(username="a2_worker", email="a2@example.com")
    post(a2_worker, Role.COMMUNITY_WORKER, community=city.comm_a2)
    category = grid_category()
    mine = [receive(city, category=category), receive(city, category=category, building=city.building_a2),
            receive(city, category=category)]
    other = receive(city, category=category, building=city.building_b1)
    now = max(after(a) for a in mine + [other])

    with django_capture_on_commit_callbacks(execute=True):
        result = sweep(now)
    assert result.escalated == 4 and result.units_told == 2
    (digest,) = inbox(u.community_worker, NotificationKind.ESCALATION)
    assert "3 件" in digest.title
    assert all(a.tracking_code in digest.body for a in mine) and other.tracking_code not in digest.body
    (digest2,) = inbox(a2_worker)
    assert other.tracking_code in digest2.body and digest2.link == f"/appeals/{other.tracking_code}/"
    # Email copies: one per recipient with an address, outbox messages the relay sent.
    assert sorted(m.to[0] for m in mail.outbox) == ["a2@example.com", "cw@example.com"]
    assert not OutboxMessage.objects.exclude(status="delivered").exists()
    # One digest item per escalation, each delivered once.
    items = OutboxMessage.objects.filter(channel="digest")
    assert sorted(items.values_list("params__code", flat=True)) == sorted(a.tracking_code for a in mine + [other])


@pytest.mark.django_db
def test_a_warning_comes_before_the_level_deadline_once(city, settings):
    settings.ESCALATION_WARN_HOURS = 4
    settings.ESCALATION_WARN_PERCENT = 20
    appeal = receive(city, category=grid_category())
    level_deadline = appeal.level_deadline
    assert sweep(level_deadline - timedelta(hours=5)).warned == 0  # too early
    assert sweep(level_deadline - timedelta(hours=3)).warned == 1
    assert sweep(level_deadline - timedelta(hours=2)).warned == 0  # once per level deadline
    appeal.refresh_from_db()
    assert appeal.warned_level_deadline == level_deadline and appeal.events.filter(action=A.WARN).count() == 1
    (warning,) = inbox(city.users.grid_worker, NotificationKind.WARNING)
    assert appeal.tracking_code in warning.body
    assert appeal.version == 2  # a warning changes nothing the handler acts on

    # The next level has its own deadline: warned again.
    sweep(level_deadline + timedelta(minutes=1))
    appeal.refresh_from_db()
    assert sweep(appeal.level_deadline - timedelta(hours=1)).warned == 1


@pytest.mark.django_db
def test_a_short_level_is_warned_within_its_share_of_the_time(city, settings):
    settings.ESCALATION_WARN_HOURS = 4
    settings.ESCALATION_WARN_PERCENT = 20
    two_hours = CategoryFactory(code="09002", name="燃气泄漏", resolution_limit=2, resolution_unit=DeadlineUnit.HOURS)
    appeal = receive(city, category=two_hours)
    # 2 h of time: the warning window is 20 % of it (24 min), not 4 h.
    assert sweep(appeal.level_deadline - timedelta(minutes=60)).warned == 0
    assert sweep(appeal.level_deadline - timedelta(minutes=20)).warned == 1
    # Escalated, the level gets the category's 2 h rather than the community's 24 h.
    now = after(appeal)
    sweep(now)
    appeal.refresh_from_db()
    assert appeal.level_deadline == now + timedelta(hours=2)


@pytest.mark.django_db
def test_urgent_categories_skip_a_level(city, settings):
    urgent = CategoryFactory(code="09001", name="消防通道堵塞", urgent=True)
    appeal = receive(city, category=urgent)
    sweep(after(appeal))
    appeal.refresh_from_db()
    assert (appeal.escalation_level, appeal.handling_level, appeal.handling_street) == (L.STREET, H.STREET, city.street_a)
    assert appeal.events.get(action=A.ESCALATE).data["skipped"] is True
    assert len(inbox(city.users.street_officer, NotificationKind.ESCALATION)) == 1
    assert inbox(city.users.community_worker) == []

    settings.ESCALATION_URGENT_SKIP = False
    other = receive(city, category=urgent)
    sweep(after(other))
    other.refresh_from_db()
    assert other.escalation_level == L.COMMUNITY


@pytest.mark.django_db
def test_a_late_department_appeal_goes_to_the_district_supervision(city):
    appeal = receive(city, category=component_department_category())
    assert appeal.handling_level == H.DEPARTMENT and appeal.escalation_level == ""
    sweep(after(appeal))
    appeal.refresh_from_db()
    assert appeal.escalation_level == L.DISTRICT
    assert appeal.handling_department == city.chengguan  # it keeps the appeal, under 督办
    assert len(inbox(city.users.district_supervisor, NotificationKind.ESCALATION)) == 1
    assert len(inbox(city.users.department_handler, NotificationKind.ESCALATION)) == 1
    assert inbox(city.users.street_officer) == []


@pytest.mark.django_db
def test_only_appeals_being_handled_are_swept(city):
    from appeals import services

    u = city.users
    resolved = receive(city, category=grid_category())
    resolved = services.appeal_act(actor=u.grid_worker, appeal=resolved, action=A.SIGN)
    resolved = services.appeal_act(actor=u.grid_worker, appeal=resolved, action=A.RESOLVE, result="已清运")
    waiting = receive(city, category=grid_category())
    waiting = services.appeal_act(actor=u.grid_worker, appeal=waiting, action=A.RETURN, reason="不属本网格")
    assert waiting.state == AppealState.RECEIVED and waiting.level_deadline is not None
    now = max(after(resolved), after(waiting)) + timedelta(days=30)
    assert sweep(now).escalated == 0 and sweep(now).warned == 0
    assert escalations(resolved) == escalations(waiting) == 0


@pytest.mark.django_db
def test_the_sweep_query_count_does_not_grow_with_the_number_of_due_appeals(city):
    category = grid_category()

    def count(n):
        appeals = [quiet(city, category) for _ in range(n)]
        now = max(after(a) for a in appeals)
        with CaptureQueriesContext(connection) as queries:
            assert sweep(now).escalated == n
        return len(queries)

    few, many = count(5), count(50)
    assert few == many
    assert few <= 25


@pytest.mark.django_db
def test_small_chunks_take_every_due_appeal_with_queries_per_chunk(city):
    category = grid_category()
    appeals = [quiet(city, category) for _ in range(12)]
    now = max(after(a) for a in appeals)
    with CaptureQueriesContext(connection) as queries:
        assert sweep(now, size=5).escalated == 12  # chunks of 5, 5, 2
    assert len(queries) <= 40
    assert all(escalations(a) == 1 for a in appeals)


@pytest.mark.django_db
def test_an_appeal_no_longer_due_when_its_chunk_comes_is_left_alone(city, monkeypatch):
    """The sweep reads the due ids first and checks each chunk's rows again as it
    locks them: a level deadline moved on in between (an approved extension, a handler
    who escalated it by hand) is not escalated on the old one."""
    category = grid_category()
    appeals = [quiet(city, category) for _ in range(6)]
    now = max(after(a) for a in appeals)
    moved = appeals[-1]
    real_loop = escalation._chunk_loop

    def loop(qs, ids, process, size):
        assert moved.pk in ids  # it was due when the ids were read
        Appeal.objects.filter(pk=moved.pk).update(level_deadline=now + timedelta(hours=5))
        return real_loop(qs, ids, process, size)

    monkeypatch.setattr(escalation, "_chunk_loop", loop)
    assert sweep(now, size=2).escalated == 5
    assert escalations(moved) == 0
    assert all(escalations(a) == 1 for a in appeals[:-1])


# --- escalation by hand (上报) -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_handler_escalates_by_hand_through_the_same_step(city):
    u = city.users
    appeal = receive(city, category=grid_category())
    with pytest.raises(NotFound):
        escalation.appeal_escalate(actor=u.outsider, appeal=appeal, reason="处理不了")
    with pytest.raises(ActionForbidden, match="只读"):
        escalation.appeal_escalate(actor=u.district_supervisor, appeal=appeal, reason="处理不了")
    with pytest.raises(ActionForbidden, match="当前办理单位"):
        escalation.appeal_escalate(actor=u.street_officer, appeal=appeal, reason="处理不了")
    with pytest.raises(ApplicationError, match="上报理由"):
        escalation.appeal_escalate(actor=u.grid_worker, appeal=appeal, reason=" ")
    with pytest.raises(Conflict, match="已被他人处理"):
        escalation.appeal_escalate(actor=u.grid_worker, appeal=appeal, reason="处理不了",
                                   expected_version=appeal.version - 1)

    appeal = escalation.appeal_escalate(actor=u.grid_worker, appeal=appeal, reason="涉及物业，网格协调不了")
    assert (appeal.escalation_level, appeal.handling_community) == (L.COMMUNITY, city.comm_a)
    event = appeal.events.get(action=A.ESCALATE)
    assert event.note == "涉及物业，网格协调不了" and event.data["automatic"] is False
    assert event.actor == u.grid_worker
    (message,) = inbox(u.community_worker, NotificationKind.ESCALATION)
    assert "涉及物业" in message.body
    assert workflow.allowed(user=u.community_worker, appeal=appeal, action=A.ESCALATE)
    assert not workflow.allowed(user=u.grid_worker, appeal=appeal, action=A.ESCALATE)

    appeal = escalation.appeal_escalate(actor=u.community_worker, appeal=appeal, reason="需街道协调")
    appeal = escalation.appeal_escalate(actor=u.street_officer, appeal=appeal, reason="需区级督办")
    assert (appeal.escalation_level, appeal.handling_level) == (L.DISTRICT, H.STREET)
    with pytest.raises(Conflict, match="区督办"):
        escalation.appeal_escalate(actor=u.street_officer, appeal=appeal, reason="再上报")
    # The sweep finds nothing more to do with it now.
    assert sweep(timezone.now()).escalated == 0


def _jur(user):
    from governance.staff.selectors import jurisdiction_for

    return jurisdiction_for(user)


@pytest.mark.django_db
def test_the_escalate_api(city, client):
    u = city.users
    appeal = receive(city, category=grid_category(), phone="010-65001234", source=Source.PHONE, actor=u.grid_worker)
    url = f"/api/v1/appeals/{appeal.tracking_code}/escalate/"

    client.force_login(u.outsider)
    assert client.post(url, {"reason": "x"}, content_type="application/json").status_code == 404
    client.force_login(u.supervisor)
    refused = client.post(url, {"reason": "x"}, content_type="application/json")
    assert refused.status_code == 403 and "只读" in refused.json()["detail"]
    client.force_login(u.grid_worker)
    assert client.post(url, {}, content_type="application/json").status_code == 400
    stale = client.post(url, {"reason": "x", "expected_version": 1}, content_type="application/json")
    assert stale.status_code == 409
    done = client.post(url, {"reason": "网格协调不了", "expected_version": appeal.version},
                       content_type="application/json")
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["escalation_level"] == "community" and body["handling_level"] == "community"
    assert body["version"] == appeal.version + 1
    # Now the community holds it: the grid worker may not escalate it again.
    assert client.post(url, {"reason": "x"}, content_type="application/json").status_code == 403


# --- two sweeps at once ----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_escalate_each_appeal_exactly_once(city):
    category = grid_category()
    appeals = [quiet(city, category) for _ in range(40)]
    now = max(after(a) for a in appeals)
    outcomes, errors = run_at_once([lambda: sweep(now, size=5).escalated for _ in range(2)])
    results = outcomes
    assert errors == []
    assert sum(results) == 40
    assert AppealEvent.objects.filter(action=A.ESCALATE).count() == 40
    assert all(escalations(a) == 1 for a in appeals)
    assert set(Appeal.objects.values_list("escalation_level", "version")) == {(L.COMMUNITY, 3)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_sweeps_workers_share_the_due_appeals_and_write_one_digest(city, settings):
    """ESCALATION_SWEEP_WORKERS threads, each on its own connection, take a third of
    the due appeals each: every appeal once, one event each, one digest per unit."""
    settings.ESCALATION_SWEEP_WORKERS = 3
    category = grid_category()
    appeals = [quiet(city, category) for _ in range(31)]
    now = max(after(a) for a in appeals)
    threads = []
    real_loop = escalation._chunk_loop

    def spy(*args):
        threads.append(threading.current_thread().name)
        return real_loop(*args)

    escalation._chunk_loop = spy
    try:
        result = sweep(now, size=4)
    finally:
        escalation._chunk_loop = real_loop
    assert len(set(threads)) == 3 and all(name.startswith("escalation") for name in threads)
    assert result.escalated == 31
    assert all(escalations(a) == 1 for a in appeals)
    assert set(Appeal.objects.values_list("escalation_level", "version")) == {(L.COMMUNITY, 3)}
    community_inbox = inbox(city.users.community_worker, NotificationKind.ESCALATION)
    assert len(community_inbox) == 1 and community_inbox[0].body.count("\n") == 30  # 31 lines


@pytest.mark.django_db
def test_inside_a_transaction_the_sweep_runs_on_the_callers_connection(city, settings):
    """Other connections cannot see what the caller has not committed."""
    settings.ESCALATION_SWEEP_WORKERS = 3
    category = grid_category()
    appeals = [quiet(city, category) for _ in range(3)]
    assert sweep(max(after(a) for a in appeals)).escalated == 3


# --- end to end: beat's entry, the broker, a real worker ---------------------------------------------


def test_beat_sends_the_sweep_at_the_configured_interval(settings):
    from governance import schedule

    entry = settings.CELERY_BEAT_SCHEDULE["appeals-escalation-sweep"]
    assert entry["task"] == "appeals.tasks.escalation_sweep"
    assert entry["schedule"] == float(schedule.ESCALATION_SWEEP_SECONDS) == 300.0
    assert settings.CELERY_BEAT_SCHEDULE["appeals-close-unevaluated"]["task"] == "appeals.tasks.close_unevaluated"
    # Every task of the schedule names a real task in its app's tasks module (the module a
    # worker's autodiscovery imports), with a time limit it can be sent with.
    import importlib

    from governance.celery import app

    for name, item in settings.CELERY_BEAT_SCHEDULE.items():
        module_name, function = item["task"].rsplit(".", 1)
        task = getattr(importlib.import_module(module_name), function)
        assert task.name == item["task"] and task.app.main == app.main, name
        if task.time_limit:
            assert task.soft_time_limit and task.soft_time_limit < task.time_limit, name


@pytest.mark.redis
@pytest.mark.live_celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_escalates_an_overdue_appeal_sent_as_beat_sends_it(city):
    import uuid

    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from governance.celery import app

    appeal = quiet(city, grid_category())
    Appeal.objects.filter(pk=appeal.pk).update(level_deadline=timezone.now() - timedelta(minutes=5))
    queue = f"test-{uuid.uuid4().hex[:12]}"  # our own queue: no other worker takes it
    done = threading.Event()
    outcome = {}

    def record(task_id=None, state=None, retval=None, **kwargs):
        outcome[task_id] = (state, retval)
        done.set()

    task_postrun.connect(record, weak=False)
    previous = app.amqp.queues._consume_from
    entry = app.conf.beat_schedule["appeals-escalation-sweep"]
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", queues=[queue], shutdown_timeout=20):
            # What beat does with the entry: send the task by name with its options.
            sent = app.send_task(entry["task"], kwargs={}, **{**entry.get("options", {}), "queue": queue})
            assert done.wait(30), "the worker did not run the sweep"
    finally:
        task_postrun.disconnect(record)
        app.amqp.queues._consume_from = previous
        with app.connection_for_write() as conn:
            bound = app.amqp.queues[queue](conn.default_channel)
            bound.declare()
            bound.delete()
    state, retval = outcome[sent.id]
    assert state == "SUCCESS" and retval["escalated"] == 1
    appeal.refresh_from_db()
    assert appeal.escalation_level == L.COMMUNITY and escalations(appeal) == 1


@pytest.mark.django_db
def test_the_demo_appeals_climb_at_the_first_sweep(city):
    import io
    from types import SimpleNamespace

    from appeals import demo

    demo.seed(SimpleNamespace(stdout=io.StringIO()))
    result = sweep(timezone.now())
    assert result.escalated >= 3 and result.warned >= 1 and result.units_told >= 3
    assert Appeal.objects.filter(escalation_level=L.DISTRICT).exists()  # the street's: 督办
    outbox.relay()
    assert Notification.objects.filter(kind=NotificationKind.ESCALATION).exists()
    assert sweep(timezone.now()).escalated == 0


@pytest.mark.django_db
def test_a_sweeps_digest_items_wait_for_its_end_and_a_killed_sweeps_are_released_by_the_next(city):
    category = grid_category()
    first, second = receive(city, category=category), receive(city, category=category)
    Appeal.objects.filter(pk=first.pk).update(level_deadline=timezone.now() - timedelta(minutes=5))
    # A sweep that escalated the first appeal and died before its end: its chunk committed,
    # with the digest item, held.
    escalation._escalate(timezone.now(), 100, escalation._Told())
    (item,) = OutboxMessage.objects.filter(channel="digest")
    assert item.status == "pending" and item.next_attempt_at > timezone.now() + timedelta(minutes=4)
    outbox.relay()
    assert inbox(city.users.community_worker, NotificationKind.ESCALATION) == []  # held
    # The next sweep escalates the second and releases both: one digest naming both.
    Appeal.objects.filter(pk=second.pk).update(level_deadline=timezone.now() - timedelta(minutes=5))
    assert sweep(timezone.now()).escalated == 1
    (digest,) = inbox(city.users.community_worker, NotificationKind.ESCALATION)
    assert "2 件" in digest.title and first.tracking_code in digest.body and second.tracking_code in digest.body
    assert escalations(first) == escalations(second) == 1
