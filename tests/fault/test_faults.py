"""The five faults of issue 16, on real servers of each test's own (DESIGN.md §9: no outage
of Redis, the broker, a worker or the database loses a message or an appeal; an outage is
answered with 503 and a clear message, never a 500).

Each test starts its own Redis, PostgreSQL cluster, gunicorn, Celery worker and beat on
free ports (tests/fault/servers.py), and never touches the machine's shared servers. The
app's processes use pytest-django's test database (committed data: transaction=True),
except the PostgreSQL restart, which runs on a cluster of its own. Each writes its figures
(saved, delivered, failed during and after) to var/fault-figures.jsonl.
"""

import json
import os
import subprocess
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from appeals.enums import AppealAction
from appeals.models import Appeal, AppealEvent, new_tracking_code
from governance.enums import NotificationKind
from governance.models import Notification, OutboxMessage, RateCounter
from tests.appeals.factories import grid_category, receive
from tests.factories import make_city
from tests.fault import servers
from tests.fault.conftest import app_database_url, need
from tests.helpers import jpeg

pytestmark = [pytest.mark.fault, pytest.mark.timeout(240)]

FIGURES = settings.VAR_DIR / "fault-figures.jsonl"


def record(name: str, **figures) -> None:
    with open(FIGURES, "a", encoding="utf-8") as f:
        f.write(json.dumps({"test": name, **figures}, ensure_ascii=False) + "\n")


def intake_body(city, category, phone: str) -> dict:
    return {"category": category.code, "building": city.building_a1.code, "description": "楼道灯坏了，晚上看不见",
            "phone": phone}


def form_fields(city, category, phone: str) -> dict:
    return {"street": city.street_a.code, "community": city.comm_a.code, "building": city.building_a1.code,
            "category": str(category.pk), "description": "楼下垃圾堆放多日无人清理", "name": "王建国", "phone": phone}


def phone(n: int) -> str:
    return f"139{n:08d}"


def start_app(folder, started, env, *, workers: int = 2, wrap=None) -> servers.Browser:
    port = servers.free_port()
    app = servers.gunicorn(env, folder / "gunicorn.log", port=port, workers=workers, wrap=wrap).start()
    started.append(app)
    base = f"http://127.0.0.1:{port}"
    servers.wait_until_serving(base, app)
    return servers.Browser(base)


def start_worker(folder, started, env, name="w1") -> servers.Process:
    process = servers.worker(env, folder / f"worker-{name}.log", name=name).start()
    started.append(process)
    servers.wait_until_ready(process)
    return process


def start_beat(folder, started, env) -> servers.Process:
    process = servers.beat(env, folder / "beat.log", schedule=folder / "beat-schedule").start()
    started.append(process)
    return process


def delivered_once(sms: list[dict], expected_codes: set[str]) -> None:
    """Every expected code got exactly one receipt SMS, and no message was sent twice."""
    keys = Counter(m["key"] for m in sms)
    assert [k for k, n in keys.items() if n > 1] == [], "an SMS was sent twice"
    codes = Counter(m["code"] for m in sms if m["template"] == "received")
    assert set(codes) == expected_codes
    assert set(codes.values()) == {1}


# --- 1. Redis stopped mid-test ---------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_redis_stopped_mid_test_every_submission_is_saved_and_every_sms_sent_once_after(folder, started):
    need(servers.missing_redis())
    city = make_city()
    category = grid_category()
    redis = servers.RedisServer(folder / "redis").start()
    started.append(redis)
    sms_file = folder / "sms.jsonl"
    env = servers.stack_env(var=folder / "var", database_url=app_database_url(), sms_file=sms_file,
                            extra={"REDIS_URL": redis.url + "/0"})
    browser = start_app(folder, started, env)
    start_worker(folder, started, env)
    start_beat(folder, started, env)
    began = time.monotonic()

    # Redis up: a submission's SMS goes out at once (the kick after its commit).
    assert browser.post_json("/api/v1/appeals/", intake_body(city, category, phone(0)))[0] == 201
    servers.wait_for(lambda: len(servers.read_sms(sms_file)) == 1, timeout=30, what="the first SMS")

    redis.stop()
    statuses, started_at = Counter(), time.monotonic()
    for n in range(1, 91):
        statuses[browser.post_json("/api/v1/appeals/", intake_body(city, category, phone(n)))[0]] += 1
    for n in range(91, 101):
        statuses[browser.submit_form(form_fields(city, category, phone(n)))] += 1
    # Tracking and token login answer too.
    first = Appeal.objects.order_by("id").first()
    tracking = browser.post_json(f"/api/v1/track/{first.tracking_code}/", {"phone_last4": first.phone[-4:]})[0]
    login = browser.post_json("/api/v1/auth/token/", {"username": "grid_worker", "password": "wrong"})[0]
    outage_seconds = time.monotonic() - started_at
    assert statuses == Counter({201: 90, 302: 10}), statuses
    assert (tracking, login) == (200, 400)
    assert Appeal.objects.count() == 101
    assert RateCounter.objects.exists()  # the limits counted in the database meanwhile
    sent_during = len(servers.read_sms(sms_file))
    assert sent_during == 1  # nothing could be queued

    redis.start()  # the same port: the worker and beat reconnect, the beat's relay catches up
    back_at = time.monotonic()
    servers.wait_for(lambda: len(servers.read_sms(sms_file)) >= 101, timeout=90, every=0.5,
                     what="every SMS after Redis came back")
    caught_up = time.monotonic() - back_at
    after = Counter(browser.post_json("/api/v1/appeals/", intake_body(city, category, phone(200 + n)))[0]
                    for n in range(10))
    assert after == Counter({201: 10})
    servers.wait_for(lambda: len(servers.read_sms(sms_file)) >= 111, timeout=60, every=0.5, what="the last SMS")
    time.sleep(1)  # nothing more arrives
    sms = servers.read_sms(sms_file)
    delivered_once(sms, set(Appeal.objects.values_list("tracking_code", flat=True)))
    assert not OutboxMessage.objects.exclude(status="delivered").exists()
    record("redis_stopped", submissions_during=100, saved_during=100, failed_during=sum(
        n for s, n in statuses.items() if s >= 500 or s == 0), sms_sent_during=sent_during - 1,
        sms_delivered_after=len(sms) - 1 - 10, sms_sent_twice=0, requests_after=10,
        failed_after=sum(n for s, n in after.items() if s >= 500), outage_requests_seconds=round(outage_seconds, 1),
        seconds_to_catch_up=round(caught_up, 1), test_seconds=round(time.monotonic() - began, 1))


# --- 2. A worker SIGKILLed mid-sweep -------------------------------------------------------------------

DUE = 5000


def _due_appeals(city, category) -> set[int]:
    """DUE appeals past their level deadline, half in 甲一社区's grid and half in 乙一社区's,
    copied in bulk from two received ones."""
    templates = [receive(city, category=category), receive(city, category=category, building=city.building_c1)]
    rows = []
    for i in range(DUE - len(templates)):
        template = templates[i % 2]
        fields = {f.attname: getattr(template, f.attname) for f in Appeal._meta.concrete_fields
                  if f.attname not in ("id", "tracking_code")}
        rows.append(Appeal(**fields, tracking_code=new_tracking_code()))
    Appeal.objects.bulk_create(rows, batch_size=1000)
    Appeal.objects.update(level_deadline=timezone.now() - timedelta(hours=1))
    return set(Appeal.objects.values_list("id", flat=True))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sweep_loses_no_notice_and_each_unit_gets_one_digest(folder, started):
    need(servers.missing_redis())
    city = make_city()
    category = grid_category()
    due = _due_appeals(city, category)
    assert len(due) == DUE
    redis = servers.RedisServer(folder / "redis").start()
    started.append(redis)
    env = servers.stack_env(var=folder / "var", database_url=app_database_url(), sms_file=folder / "sms.jsonl",
                            extra={"REDIS_URL": redis.url + "/0", "ESCALATION_CHUNK_SIZE": "100",
                                   "ESCALATION_SWEEP_WORKERS": "1"})
    client = Celery("fault", broker=redis.url + "/0")
    began = time.monotonic()

    first = start_worker(folder, started, env, name="first")
    client.send_task("appeals.tasks.escalation_sweep", kwargs={})
    escalated = AppealEvent.objects.filter(action=AppealAction.ESCALATE)
    servers.wait_for(lambda: escalated.count() > 0, timeout=60, every=0.02, what="the sweep's first chunk")
    first.kill()
    at_kill = escalated.count()
    assert 0 < at_kill < DUE, at_kill  # killed mid-sweep
    held = OutboxMessage.objects.filter(channel="digest")
    assert held.count() == at_kill and not held.exclude(status="pending").exists()  # each with its item, held

    start_worker(folder, started, env, name="second")
    client.send_task("appeals.tasks.escalation_sweep", kwargs={})
    servers.wait_for(lambda: escalated.count() == DUE, timeout=120, every=0.5, what="the second sweep")
    servers.wait_for(lambda: not held.exclude(status="delivered").exists(), timeout=60, every=0.5,
                     what="the digests")

    # Every escalation: exactly one event and exactly one digest entry.
    per_appeal = Counter(escalated.values_list("appeal_id", flat=True))
    assert set(per_appeal) == due and set(per_appeal.values()) == {1}
    items = Counter(held.values_list("subject", flat=True))
    assert set(items) == {f"appeal:{pk}" for pk in due} and set(items.values()) == {1}
    # One digest per unit (not one per appeal, not one per run), naming each of its appeals once.
    codes = dict(Appeal.objects.values_list("id", "tracking_code"))
    community_of = dict(Appeal.objects.values_list("id", "community_id"))
    for user, community in ((city.users.community_worker, city.comm_a), (city.users.outsider, city.comm_c)):
        (digest,) = Notification.objects.filter(recipient=user, kind=NotificationKind.ESCALATION)
        mine = [codes[pk] for pk in due if community_of[pk] == community.code]
        assert f"{len(mine)} 件" in digest.title
        body = Counter(line.split(" ")[1] for line in digest.body.splitlines())
        assert set(body) == set(mine) and set(body.values()) == {1}
    record("worker_killed_mid_sweep", due=DUE, escalated_before_kill=at_kill, escalated_in_all=len(per_appeal),
           events_per_escalation=1, digest_items=sum(items.values()), digests=Notification.objects.filter(
               kind=NotificationKind.ESCALATION).count(), units=2, test_seconds=round(time.monotonic() - began, 1))


# --- 3. PostgreSQL restarted under traffic ----------------------------------------------------------


SEED = """
import django
django.setup()
from tests.factories import make_city
from tests.appeals.factories import grid_category
city = make_city()
print(grid_category().code, city.building_a1.code)
"""


def test_postgres_restarted_under_traffic_answers_503_then_recovers_without_a_restart(folder, started):
    need(servers.missing_postgres_binaries())
    began = time.monotonic()
    cluster = servers.PostgresCluster(folder / "pg").init()
    cluster.start()
    started.append(cluster)
    cluster.createdb("gongzhi")
    env = servers.stack_env(var=folder / "var", database_url=cluster.url("gongzhi"), sms_file=folder / "sms.jsonl",
                            extra={"REDIS_URL": ""})
    subprocess.run([str(servers.BIN / "python"), "manage.py", "migrate", "--noinput"], cwd=servers.ROOT, env=env,
                   check=True, capture_output=True, timeout=180)
    seeded = subprocess.run([str(servers.BIN / "python"), "-c", SEED], cwd=servers.ROOT, env=env, check=True,
                            capture_output=True, text=True, timeout=120)
    category_code, building_code = seeded.stdout.split()[-2:]
    browser = start_app(folder, started, env)

    log: list[tuple[float, str, int, str | None]] = []
    stop = threading.Event()

    def traffic():
        n = 0
        while not stop.is_set():
            n += 1
            body = {"category": category_code, "building": building_code, "description": "路灯不亮",
                    "phone": phone(n)}
            for kind, call in (("page", lambda: browser.get("/submit/", timeout=10)),
                               ("api", lambda: browser.post_json("/api/v1/appeals/", body, timeout=10))):
                status, _body, headers = call()
                log.append((time.monotonic(), kind, status, headers.get("Retry-After")))
            time.sleep(0.02)

    thread = threading.Thread(target=traffic)
    thread.start()
    time.sleep(2)
    down_at = time.monotonic()
    cluster.stop()
    time.sleep(3)
    cluster.start()  # -w: returns once it accepts connections
    up_at = time.monotonic()
    time.sleep(3)
    stop.set()
    thread.join(30)

    before = [s for t, _k, s, _r in log if t < down_at]
    during = [(s, r) for t, _k, s, r in log if down_at <= t < up_at]
    after = [s for t, _k, s, _r in log if t >= up_at + 0.2]  # sent once the restart returned
    assert before and set(before) <= {200, 201}
    assert [s for s in [*before, *(s for s, _r in during), *after] if s >= 500 and s != 503] == []  # never a 500
    assert any(s == 503 for s, _r in during) and all(r == "30" for s, r in during if s == 503)
    assert after and set(after) <= {200, 201}, Counter(after)
    record("postgres_restart", requests_before=len(before), requests_during=len(during),
           answered_503_during=sum(1 for s, _r in during if s == 503),
           succeeded_during=sum(1 for s, _r in during if s in (200, 201)),
           failed_500_during=sum(1 for s, _r in during if s >= 500 and s != 503), requests_after=len(after),
           failed_after=sum(1 for s in after if s not in (200, 201)), outage_seconds=round(up_at - down_at, 1),
           test_seconds=round(time.monotonic() - began, 1))


# --- 4. The broker refusing publishes while the cache works --------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_broker_refusing_publishes_loses_no_sms(folder, started):
    need(servers.missing_redis())
    city = make_city()
    category = grid_category()
    broker = servers.RedisServer(folder / "broker").start()
    cache = servers.RedisServer(folder / "cache").start()
    started += [broker, cache]
    sms_file = folder / "sms.jsonl"
    env = servers.stack_env(var=folder / "var", database_url=app_database_url(), sms_file=sms_file,
                            extra={"CELERY_BROKER_URL": broker.url + "/0", "CACHE_URL": cache.url + "/1"})
    browser = start_app(folder, started, env)
    start_worker(folder, started, env)
    start_beat(folder, started, env)
    began = time.monotonic()

    # Out of memory: the broker still takes connections but refuses every write.
    assert broker.cli("CONFIG", "SET", "maxmemory-policy", "noeviction") == "OK"
    assert broker.cli("CONFIG", "SET", "maxmemory", "1") == "OK"
    statuses = Counter(browser.post_json("/api/v1/appeals/", intake_body(city, category, phone(n)))[0]
                       for n in range(20))
    health_status, health_body, _h = browser.get("/healthz")
    assert statuses == Counter({201: 20}), statuses
    assert health_status == 503 and json.loads(health_body)["failing"] == ["broker"]
    assert Appeal.objects.count() == 20
    assert cache.cli("-n", "1", "DBSIZE") != "0"  # the cache worked meanwhile (the rate limits)
    time.sleep(2)
    sent_during = len(servers.read_sms(sms_file))
    assert sent_during == 0

    assert broker.cli("CONFIG", "SET", "maxmemory", "0") == "OK"
    back_at = time.monotonic()
    servers.wait_for(lambda: len(servers.read_sms(sms_file)) >= 20, timeout=90, every=0.5,
                     what="the 20 SMS after the broker recovered")
    caught_up = time.monotonic() - back_at
    time.sleep(2)
    sms = servers.read_sms(sms_file)
    delivered_once(sms, set(Appeal.objects.values_list("tracking_code", flat=True)))
    assert len(sms) == 20
    record("broker_refusing_publishes", submissions=20, saved=20, failed=0, sms_sent_during=sent_during,
           sms_delivered_after=len(sms), sms_sent_twice=0, healthz_during=health_status,
           seconds_to_catch_up=round(caught_up, 1), test_seconds=round(time.monotonic() - began, 1))


# --- 5. The media directory read-only ----------------------------------------------------------------


def _read_only_wrap(media) -> list[str] | None:
    """Run the server in a mount namespace of its own where ``media`` is a read-only bind
    mount (root ignores file modes); None where that is not allowed."""
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {media} {media} && "
                            f"mount -o remount,bind,ro {media} && ! touch {media}/probe"],
                           capture_output=True, timeout=10)
    if probe.returncode != 0:
        return None
    script = f'mount --bind "{media}" "{media}" && mount -o remount,bind,ro "{media}" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "read-only-media"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_read_only_media_directory_keeps_the_appeal_reports_the_photo_and_charges_nothing(folder, started):
    var = folder / "var"
    media = var / "media"
    media.mkdir(parents=True)
    if os.geteuid() == 0:
        wrap = _read_only_wrap(media)
        need(None if wrap else "needs unshare and mount (a read-only bind mount) to make the media folder "
                               "read-only for root")
    else:
        os.chmod(media, 0o555)
        wrap = None
    city = make_city()
    category = grid_category()
    env = servers.stack_env(var=var, database_url=app_database_url(), sms_file=folder / "sms.jsonl",
                            extra={"REDIS_URL": "", "APPEAL_INTAKE_RATE_PER_PHONE": "1/day"})
    browser = start_app(folder, started, env, workers=1, wrap=wrap)
    began = time.monotonic()

    status, body, _headers = browser.get("/submit/")
    token = body.split(b'name="csrfmiddlewaretoken" value="')[1].split(b'"')[0].decode()
    boundary = "----gongzhi-fault"
    fields = {**form_fields(city, category, phone(1)), "csrfmiddlewaretoken": token}
    photo = jpeg("门前积水.jpg").read()
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="门前积水.jpg"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + photo + b"\r\n")
    data = b"".join(parts) + f"--{boundary}--\r\n".encode()
    status, _body, headers = browser.request("POST", "/submit/", data=data, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": browser.base + "/submit/"})
    assert status == 302 and headers["Location"].endswith("/submit/done/")
    done = browser.get("/submit/done/")[1].decode()
    appeal = Appeal.objects.get()
    assert appeal.tracking_code in done and "以下照片暂时未能保存" in done and "门前积水.jpg" in done
    assert not appeal.attachments.exists() and list(media.iterdir()) == []
    assert appeal.events.get(action="receive").data["photos_not_stored"] == 1
    # Not charged: the same phone may submit again today although its limit is 1 a day; then it is used up.
    second = browser.submit_form(form_fields(city, category, phone(1)))
    third = browser.submit_form(form_fields(city, category, phone(1)))
    assert (second, third) == (302, 429)
    assert Appeal.objects.count() == 2
    record("media_read_only", submissions=1, saved=1, photos_not_stored=1, charged_for_it=0,
           next_same_phone=second, after_that=third, test_seconds=round(time.monotonic() - began, 1))
