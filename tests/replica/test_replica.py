"""The portal on a real primary and a real hot standby (issue 25).

The test makes its own primary (initdb in a temporary folder, on a free port, as the
postgres user) and a streaming replica of it (pg_basebackup -X stream -R, its own port
and socket folder); it never touches the machine's shared cluster. The portal runs
against the two in its own processes (migrate, a small seed, gunicorn), configured by
DATABASE_URL and DATABASE_REPLICA_URL as a deployment is: pytest-django would try to
create a test database on the hot standby, which refuses writes.

With the replica's replay paused, a row written on the primary is missing on the
replica; so a report that misses a just-written row read it from the replica. It proves:
reports read from the replica, writes go to the primary, the writer sees their own
write at once (the pin) and again reads the replica after REPLICA_PIN_SECONDS; a replica
lagging past REPLICA_MAX_LAG_BYTES or stopped leaves the reports on the primary, every
page working, and /healthz (200) names the replica's state and lag.
"""

import csv
import io
import json
import re
import subprocess
import sys
import time

import pytest

from tests.fault import servers
from tests.fault.conftest import need

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]

DB = "gongzhi"
PIN_SECONDS = 3
CHECK_SECONDS = 1
MAX_LAG_BYTES = 1024 * 1024
PASSWORD = "pw-123456"  # tests.factories.UserFactory

SEED = """
import json
from datetime import timedelta

import django

django.setup()
from django.utils import timezone

from appeals.models import Appeal
from appeals.selectors import overdue_q
from governance.enums import Role
from tests.appeals.factories import grid_category, receive
from tests.factories import UserFactory, make_city, post

city = make_city()
post(UserFactory(username="supervisor2"), Role.SUPERVISOR)
category = grid_category()
codes = []
for n in range(2):
    appeal = receive(city, category=category, phone=f"1381234567{n}")
    Appeal.objects.filter(pk=appeal.pk).update(deadline=timezone.now() - timedelta(days=2 + n))
    codes.append(appeal.tracking_code)
print(json.dumps({"codes": codes, "overdue": Appeal.objects.filter(overdue_q(timezone.now())).count()}))
"""


def manage(env: dict, *args: str, script: str | None = None) -> str:
    command = [sys.executable, "-c", script] if script else [sys.executable, "manage.py", *args]
    result = subprocess.run(command, cwd=servers.ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def lag_bytes(primary, standby) -> int:
    replayed = standby.sql(DB, "SELECT pg_last_wal_replay_lsn()")
    return int(float(primary.sql(DB, f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{replayed}')")))


def caught_up(primary, standby) -> None:
    servers.wait_for(lambda: lag_bytes(primary, standby) <= 0, timeout=30, what="the replica to replay the WAL")


def notes_on(primary_or_standby, code: str) -> int:
    return int(primary_or_standby.sql(DB, (
        "SELECT count(*) FROM appeals_appealevent e JOIN appeals_appeal a ON a.id = e.appeal_id "
        f"WHERE a.tracking_code = '{code}' AND e.action = 'supervise'")))


def csrf(body: bytes) -> str:
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()


def log_in(base: str, username: str) -> servers.Browser:
    browser = servers.Browser(base)
    status, body, _headers = browser.get("/accounts/login/")
    assert status == 200
    status, _body, headers = browser.post_form("/accounts/login/", {
        "username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf(body)})
    assert status == 302, f"login of {username}: {status}"
    return browser


def add_note(browser: servers.Browser, code: str, note: str) -> None:
    path = f"/reports/supervision/{code}/"
    status, body, _headers = browser.get(path)
    assert status == 200
    status, _body, _headers = browser.post_form(path, {"note": note, "csrfmiddlewaretoken": csrf(body)})
    assert status == 302, status


def notes_in_report(browser: servers.Browser) -> dict[str, int]:
    """督办意见数 per appeal, as the 督办清单's CSV export gives it."""
    status, body, _headers = browser.get("/reports/supervision/?export=csv")
    assert status == 200, status
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header = rows[0]
    code_at, notes_at = header.index("查询码"), header.index("督办意见数")
    return {row[code_at]: int(row[notes_at]) for row in rows[1:]}


def healthz(browser: servers.Browser) -> tuple[int, dict]:
    status, body, _headers = browser.get("/healthz")
    return status, json.loads(body)


def test_reports_read_from_a_streaming_replica_and_fall_back_to_the_primary(folder, started):
    need(servers.missing_postgres_binaries())

    # The primary, and a hot standby made from it by a base backup.
    primary = servers.PostgresCluster(folder / "primary").init()
    primary.start("wal_level=replica", "max_wal_senders=5")
    started.append(primary)
    primary.createdb(DB)
    standby = servers.PostgresCluster(folder / "standby").init_standby_of(primary)
    standby.start("hot_standby=on", "hot_standby_feedback=on")
    started.append(standby)
    assert standby.sql(DB, "SELECT pg_is_in_recovery()") == "t"
    assert primary.sql(DB, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1"

    env = servers.stack_env(var=folder / "var", database_url=primary.url(DB), sms_file=folder / "sms.jsonl", extra={
        "DATABASE_REPLICA_URL": standby.url(DB), "REPLICA_PIN_SECONDS": str(PIN_SECONDS),
        "REPLICA_CHECK_SECONDS": str(CHECK_SECONDS), "REPLICA_MAX_LAG_BYTES": str(MAX_LAG_BYTES),
    })
    manage(env, "migrate", "--noinput")
    seeded = json.loads(manage(env, script=SEED).strip().splitlines()[-1])
    first, second = seeded["codes"]
    assert seeded["overdue"] == 2
    caught_up(primary, standby)  # the schema and the seed arrived by streaming
    assert standby.sql(DB, "SELECT count(*) FROM appeals_appeal") == "2"

    port = servers.free_port()
    app = servers.gunicorn(env, folder / "gunicorn.log", port=port, workers=2).start()
    started.append(app)
    base = f"http://127.0.0.1:{port}"
    servers.wait_until_serving(base, app)
    writer, reader = log_in(base, "supervisor"), log_in(base, "supervisor2")
    time.sleep(PIN_SECONDS + 0.5)  # a login is a write: its pin passes

    status, body = healthz(reader)
    assert status == 200 and body["replica"]["state"] == "ok", body
    assert isinstance(body["replica"]["lag_bytes"], int) and body["replica"]["max_lag_bytes"] == MAX_LAG_BYTES

    # --- reports read from the replica; writes go to the primary -----------------------------
    assert notes_in_report(reader) == {first: 0, second: 0}
    standby.sql(DB, "SELECT pg_wal_replay_pause()")
    add_note(writer, first, "请尽快处理，本周内办结")  # a hot standby would refuse this INSERT
    assert notes_on(primary, first) == 1
    assert notes_on(standby, first) == 0  # replay paused: not there yet
    # The other supervisor's report misses the just-written note: it was read on the replica.
    assert notes_in_report(reader)[first] == 0
    # The writer sees their own write at once: pinned to the primary.
    assert notes_in_report(writer)[first] == 1
    # After REPLICA_PIN_SECONDS the writer reads the replica again.
    time.sleep(PIN_SECONDS + 0.5)
    assert notes_in_report(writer)[first] == 0
    # Other report pages and the report API read there too, and answer.
    for path in ("/reports/", "/reports/hotspots/", "/reports/supervision/", "/api/v1/reports/supervision/"):
        assert reader.get(path)[0] == 200, path

    standby.sql(DB, "SELECT pg_wal_replay_resume()")
    caught_up(primary, standby)
    assert notes_in_report(reader)[first] == 1

    # --- a lagging replica: the reports read from the primary ----------------------------------
    standby.sql(DB, "SELECT pg_wal_replay_pause()")
    add_note(writer, second, "已两次催办")
    primary.sql(DB, "CREATE TABLE ballast AS SELECT repeat(md5(n::text), 40) AS t FROM generate_series(1, 2000) n")
    assert lag_bytes(primary, standby) > MAX_LAG_BYTES
    time.sleep(CHECK_SECONDS + 0.5)  # the lag measured again
    assert notes_in_report(reader)[second] == 1  # fresh: from the primary
    status, body = healthz(reader)
    assert status == 200 and body["status"] == "ok"
    assert body["replica"]["state"] == "lagging" and body["replica"]["lag_bytes"] > MAX_LAG_BYTES, body
    standby.sql(DB, "SELECT pg_wal_replay_resume()")
    caught_up(primary, standby)
    time.sleep(CHECK_SECONDS + 0.5)
    assert healthz(reader)[1]["replica"]["state"] == "ok"

    # --- the replica stopped: every page still works, on the primary --------------------------
    standby.stop("immediate")
    started.remove(standby)
    add_note(writer, first, "第二次督办")
    took = time.monotonic()
    assert notes_in_report(reader)[first] == 2  # the primary's rows
    for path in ("/reports/", "/reports/hotspots/", "/reports/staffing/", "/api/v1/reports/units/"):
        assert reader.get(path)[0] == 200, path
    assert time.monotonic() - took < 20
    status, body = healthz(reader)
    assert status == 200 and body["status"] == "ok" and body["failing"] == []
    assert body["replica"]["state"] == "down" and "primary" in body["replica"]["warning"], body
    assert "Traceback" not in app.output() and " 500 " not in app.output()

    # --- back: the reports return to it ---------------------------------------------------------
    standby.start("hot_standby=on", "hot_standby_feedback=on")
    started.append(standby)
    caught_up(primary, standby)
    time.sleep(CHECK_SECONDS + 0.5)
    assert healthz(reader)[1]["replica"]["state"] == "ok"
    standby.sql(DB, "SELECT pg_wal_replay_pause()")
    add_note(writer, second, "第三次督办")
    assert notes_in_report(reader)[second] == 1  # the replica again: the new note not replayed
    standby.sql(DB, "SELECT pg_wal_replay_resume()")
