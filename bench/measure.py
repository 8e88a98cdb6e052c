"""The measurements: page and API latencies over real HTTP, intake throughput, the
escalation sweep and the monthly scoring.

The load generator is plain ``http.client`` with one keep-alive connection per thread:
no dependency, and light enough to share two cores with the server it measures.
Latencies are wall-clock times of whole responses (headers and body read), in ms.
"""

import http.client
import json
import random
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def _run_threads(base_url: str, work: Callable, requests: int, concurrency: int) -> tuple[list, float]:
    """Run ``work(conn, i)`` for i in range(requests) over ``concurrency`` threads, each
    with its own connection; returns ([(ms, ok)], elapsed seconds)."""
    parts = urlsplit(base_url)
    results: list = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        mine = []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            started = time.perf_counter()
            try:
                ok = work(conn, i)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                ok = False
            mine.append(((time.perf_counter() - started) * 1000, ok))
        conn.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - started


def _get(conn, path: str, headers: dict, expect: int = 200) -> bool:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status == expect


def deep_cursors(qs, sort, *, size: int, page: int, pages: int = 20) -> list[str]:
    """The cursors of ``pages`` pages from page ``page`` on (``size`` rows each) of ``qs``
    in ``sort`` (governance.kernel.keyset): where a client following ``next`` from the
    first page would be. Found once with one OFFSET read (not timed); distinct pages so
    that no single cached page is timed. Empty if the list is shorter."""
    from types import SimpleNamespace

    from governance.kernel.keyset import make_cursor, ordered

    start = (page - 1) * size - 1  # the row before the page
    found = ordered(qs, sort).values_list("id", sort.column)[start:start + pages * size]
    rows = [SimpleNamespace(pk=pk, **{sort.column: value}) for pk, value in list(found)[::size]]
    return [make_cursor(sort, row, forward=True) for row in rows]


def latencies(base_url: str, paths: list[str], *, headers: dict, requests: int = 100, concurrency: int = 2,
              warmup: int = 4) -> dict:
    """GET ``paths`` in turn ``requests`` times; p50/p95/mean in ms, errors = non-200s.
    ``warmup`` requests first (not counted): each gunicorn worker's first request
    loads templates and opens its database connection."""
    _run_threads(base_url, lambda c, i: _get(c, paths[i % len(paths)], headers), warmup, concurrency)
    results, elapsed = _run_threads(base_url, lambda c, i: _get(c, paths[i % len(paths)], headers),
                                    requests, concurrency)
    times = [ms for ms, _ok in results]
    return {
        "requests": len(results), "concurrency": concurrency, "errors": sum(1 for _ms, ok in results if not ok),
        "p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1),
        "mean_ms": round(sum(times) / len(times), 1), "per_second": round(len(results) / elapsed, 1),
    }


def payload(base_url: str, path: str, *, headers: dict) -> dict:
    """One GET of ``path``: the body's bytes as sent (gzip when the headers ask for it and
    the server compresses) and unpacked, and how many items (features, points, clusters)
    it holds."""
    import gzip

    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        sent = response.read()
        encoding = response.getheader("Content-Encoding", "")
    finally:
        conn.close()
    body = gzip.decompress(sent) if encoding == "gzip" else sent
    data = json.loads(body)
    items = len(data.get("features", [])) or len(data.get("points", [])) + len(data.get("clusters", []))
    return {"status": response.status, "gzip_bytes": len(sent) if encoding == "gzip" else None,
            "bytes": len(body), "items": items}


def intake_body(i: int, *, buildings: list[str], categories: list[str], seed: int = 8) -> dict:
    rng = random.Random(f"{seed}:{i}")
    return {"category": rng.choice(categories), "building": rng.choice(buildings),
            "description": "楼道灯坏了，晚上看不见路", "phone": f"13{rng.randrange(10**9):09d}"}


def intake_throughput(base_url: str, *, buildings: list[str], categories: list[str], requests: int = 300,
                      concurrency: int = 8, warmup: int = 32) -> dict:
    """POST ``requests`` public appeals (JSON) as fast as the server takes them;
    errors = anything but 201. ``warmup`` POSTs go first and are not timed, as the pages'
    warm-up GETs (``latencies``): each gunicorn worker's first intake imports and builds
    the serializers and the catalog, which a running server has done long before; a
    failed warm-up POST still counts as an error."""
    def work(conn, i: int) -> bool:
        body = json.dumps(intake_body(i, buildings=buildings, categories=categories), ensure_ascii=False)
        conn.request("POST", "/api/v1/appeals/", body=body.encode(),
                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status == 201

    warm, _ = _run_threads(base_url, lambda conn, i: work(conn, requests + i), warmup, concurrency)
    results, elapsed = _run_threads(base_url, work, requests, concurrency)
    ok = sum(1 for _ms, good in results if good)
    times = [ms for ms, _ok in results]
    warm_errors = sum(1 for _ms, good in warm if not good)
    return {"requests": len(results), "concurrency": concurrency, "created": ok,
            "errors": len(results) - ok + warm_errors, "warmup": warmup,
            "seconds": round(elapsed, 2), "per_second": round(ok / elapsed, 1),
            "p95_ms": round(percentile(times, 95), 1)}


def latencies_under_intake(base_url: str, paths: list[str], *, headers: dict, buildings: list[str],
                           categories: list[str], requests: int = 100, concurrency: int = 2,
                           intake_concurrency: int = 4) -> dict:
    """``latencies`` of ``paths`` while residents' appeals are POSTed without pause on
    ``intake_concurrency`` connections (issue 25: the supervisors read while the workers
    write); the intake that ran beside them is given too."""
    stop = threading.Event()
    counts = {"created": 0, "errors": 0}
    lock = threading.Lock()
    parts = urlsplit(base_url)

    def load(n: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        i = n * 1_000_000
        while not stop.is_set():
            body = json.dumps(intake_body(i, buildings=buildings, categories=categories, seed=25), ensure_ascii=False)
            i += 1
            try:
                conn.request("POST", "/api/v1/appeals/", body=body.encode(),
                             headers={"Content-Type": "application/json", "Accept": "application/json"})
                response = conn.getresponse()
                response.read()
                good = response.status == 201
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                good = False
            with lock:
                counts["created" if good else "errors"] += 1
        conn.close()

    loaders = [threading.Thread(target=load, args=(n,)) for n in range(intake_concurrency)]
    for t in loaders:
        t.start()
    started = time.perf_counter()
    try:
        time.sleep(2)  # the load first
        found = latencies(base_url, paths, headers=headers, requests=requests, concurrency=concurrency)
    finally:
        stop.set()
        for t in loaders:
            t.join()
    elapsed = time.perf_counter() - started
    found["intake"] = {"concurrency": intake_concurrency, **counts,
                       "per_second": round(counts["created"] / elapsed, 1)}
    return found


# The columns an escalation sweep writes (appeals.escalation), saved before the
# measurement and written back after it.
_SWEPT_COLUMNS = (
    "version", "updated_at", "escalation_level", "level_deadline", "escalated_at", "warned_level_deadline",
    "last_reminded_at", "handling_level", "handling_grid_code", "handling_community_code", "handling_street_code",
)
_SAVED = "bench_escalation_saved"


def _execute(sql: str, params=()) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _vacuum(*tables: str) -> None:
    """VACUUM (ANALYZE) on PostgreSQL, as autovacuum would after a mass update; ANALYZE on
    SQLite. Outside any transaction."""
    from django.db import connection

    for table in tables:
        _execute(f"VACUUM (ANALYZE) {table}" if connection.vendor == "postgresql" else f"ANALYZE {table}")


def escalation_restore() -> bool:
    """Write back what an escalation measurement changed (also after a run that died
    half-way: the saved rows are a table). Returns whether there was anything to restore."""
    from django.db import connection

    if _SAVED not in connection.introspection.table_names():
        return False
    columns = ", ".join(f"{c} = s.{c}" for c in _SWEPT_COLUMNS)
    with transaction.atomic():
        _execute(f"UPDATE appeals_appeal SET {columns} FROM {_SAVED} AS s WHERE appeals_appeal.id = s.id")
        _execute(f"DELETE FROM appeals_appealevent WHERE id > (SELECT MAX(last_event) FROM {_SAVED}_marks)")
        _execute(f"DELETE FROM governance_notification WHERE id > (SELECT MAX(last_notification) FROM {_SAVED}_marks)")
        _execute(f"DROP TABLE {_SAVED}")
        _execute(f"DROP TABLE {_SAVED}_marks")
    _vacuum("appeals_appeal", "appeals_appealevent")
    return True


def escalation_time(*, due: int | None, now: datetime | None = None) -> dict:
    """Time ``escalation_sweep`` over ``due`` open appeals whose level deadline has passed
    (None: every open appeal it may escalate), the way it runs in production: its chunks
    commit, on a table autovacuum has caught up with.

    Steps: 1. save the swept columns of every open appeal, and the last event and
    notification ids, in tables of their own; 2. give the chosen appeals a level deadline
    an hour ago and every other open appeal one a month ahead (neither due nor warned),
    commit, VACUUM; 3. time the sweep; 4. write the saved columns back, delete the
    sweep's events and notifications, VACUUM: the database is as seeded again, and the
    run can be repeated."""
    from appeals import workflow
    from appeals.enums import AppealAction, EscalationLevel
    from appeals.escalation import escalation_sweep
    from appeals.models import Appeal, AppealEvent

    now = now or timezone.now()
    escalation_restore()
    sources = [str(s) for s in workflow.sources(AppealAction.ESCALATE)]
    open_qs = Appeal.objects.filter(state__in=sources)
    with transaction.atomic():
        placeholders = ", ".join(["%s"] * len(sources))
        _execute(f"CREATE TABLE {_SAVED} AS SELECT id, {', '.join(_SWEPT_COLUMNS)} FROM appeals_appeal "
                 f"WHERE state IN ({placeholders})", sources)
        _execute(f"CREATE TABLE {_SAVED}_marks AS SELECT "
                 "(SELECT COALESCE(MAX(id), 0) FROM appeals_appealevent) AS last_event, "
                 "(SELECT COALESCE(MAX(id), 0) FROM governance_notification) AS last_notification")
        candidates = open_qs.exclude(escalation_level=EscalationLevel.DISTRICT)
        if due is not None:
            ids = list(candidates.order_by("id").values_list("id", flat=True)[:due])
            open_qs.update(level_deadline=now + timedelta(days=30))
            marked = Appeal.objects.filter(id__in=ids).update(level_deadline=now - timedelta(hours=1))
        else:
            open_qs.exclude(pk__in=candidates.values("pk")).update(level_deadline=now + timedelta(days=30))
            marked = candidates.update(level_deadline=now - timedelta(hours=1))
    _vacuum("appeals_appeal")
    events_before = AppealEvent.objects.count() if due is None else None
    try:
        started = time.perf_counter()
        sweep = escalation_sweep(now=now)
        seconds = time.perf_counter() - started
        result = {"due": marked, "escalated": sweep.escalated, "units_told": sweep.units_told,
                  "seconds": round(seconds, 2), "per_second": round(marked / seconds, 1) if seconds else None,
                  "method": "committed chunks on a vacuumed table, restored afterwards"}
        if events_before is not None:
            result["events_written"] = AppealEvent.objects.count() - events_before
    finally:
        escalation_restore()
    return result


def scoring_time(*, month: date, now: datetime | None = None) -> dict:
    """Time ``compute_month`` for ``month`` (forced: a final month is recomputed)."""
    from governance.assessment.services import compute_month

    started = time.perf_counter()
    result = compute_month(month=month, now=now, force=True)
    seconds = time.perf_counter() - started
    return {"month": f"{month:%Y-%m}", "appeals": result.appeals, "units": result.units,
            "tallies": result.tallies, "seconds": round(seconds, 2)}


def hotspot_repeats_time(user, paths: list[str]) -> dict:
    """The hot spots' repeated buildings and households of each page in ``paths`` (the
    city's month, quarter and twelve months), grouped as the Celery task groups them
    (governance.reports.hotspots; inline here whatever the period's size) into the shared
    cache the pages read: the seconds a viewer of a large period waits for the tables."""
    from django.http import QueryDict
    from django.test import override_settings

    from governance.reports import hotspots
    from governance.reports.forms import ReportQuery
    from governance.staff.selectors import jurisdiction_for

    jurisdiction = jurisdiction_for(user)
    names = ("month", "quarter", "year")
    result = {}
    for name, path in zip(names, paths, strict=True):
        period = ReportQuery.parse(QueryDict(path.split("?", 1)[1]))["period"]
        started = time.perf_counter()
        with override_settings(HOTSPOT_INLINE_MAX_APPEALS=10**12):
            found = hotspots.hotspots(jurisdiction=jurisdiction, period=period)
        result[name] = {"seconds": round(time.perf_counter() - started, 2), "appeals": found.appeals,
                        "buildings": len(found.buildings.rows), "households": len(found.households.rows)}
    return result


def flows_time(*, now: datetime | None = None, backfill: bool = False) -> dict:
    """Time the daily flows (issue 23): with ``backfill``, the rebuild of every day from
    the first event (what a deployment runs once after migrating: ``rebuild_flows``);
    then the beat's refresh of today (every FLOWS_REFRESH_SECONDS)."""
    from governance.assessment import flows
    from governance.assessment.models import DailyFlow

    now = now or timezone.now()
    result: dict = {}
    if backfill:
        first = flows.first_event_day()
        started = time.perf_counter()
        done = flows.flows_rebuild(first=first, last=timezone.localdate(now), now=now, chunk_days=31) if first else []
        result["backfill_seconds"] = round(time.perf_counter() - started, 1)
        result["backfill_days"] = sum((r.last - r.first).days + 1 for r in done)
        result["rows"] = DailyFlow.objects.count()
    started = time.perf_counter()
    refreshed = flows.flows_refresh_recent(now=now)
    result["refresh_seconds"] = round(time.perf_counter() - started, 2)
    result["refresh_rows"] = refreshed.rows
    return result


def session_cookie(user) -> str:
    """A logged-in session for ``user``, as a cookie header value (no login form: the
    login view's password hashing and lockout checks are not what is measured)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


# --- exports (issue 23) ---------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers under its master)."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                    # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, clock ticks)."""
    import os

    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class RssWatch:
    """Samples the RSS of ``pids`` every 20 ms while running: the peak of each (KiB); and
    the CPU time each used meanwhile."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.cpu = {pid: _cpu_seconds(pid) for pid in pids}
        self.start = {pid: _rss_kib(pid) for pid in pids}
        self.peak = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], _rss_kib(pid))
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.cpu = {pid: _cpu_seconds(pid) - before for pid, before in self.cpu.items()}

    def result(self) -> dict:
        """The worker that grew most: its RSS before and at its peak, in MB."""
        if not self.pids:
            return {}
        pid = max(self.pids, key=lambda p: self.cpu[p])  # the worker that served it
        return {"rss_before_mb": round(self.start[pid] / 1024, 1), "rss_peak_mb": round(self.peak[pid] / 1024, 1),
                "rss_growth_mb": round((self.peak[pid] - self.start[pid]) / 1024, 1),
                "server_cpu_seconds": round(self.cpu[pid], 2)}


def export_stream(base_url: str, path: str, *, headers: dict, server_pid: int | None = None,
                  warm_path: str = "") -> dict:
    """One GET of a streamed CSV export, read as it arrives: the first byte (the BOM and the
    header), the first data row, the whole body; rows/s over the whole request; the peak
    RSS of the server's worker that served it (gunicorn's workers under ``server_pid``).
    ``warm_path`` is requested a few times first (each worker's first request loads
    templates and opens its database connection: not the export's time)."""
    if warm_path:
        _run_threads(base_url, lambda c, i: _get(c, warm_path, headers), 8, 2)
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    pids = _children(server_pid) if server_pid else []
    first_byte = first_row = None
    newlines = size = 0
    with RssWatch(pids) as watch:
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        while True:
            chunk = response.read1(65536)
            if not chunk:
                break
            now = time.perf_counter() - started
            if first_byte is None:
                first_byte = now
            size += len(chunk)
            newlines += chunk.count(b"\n")
            if first_row is None and newlines >= 2:
                first_row = now
        total = time.perf_counter() - started
    conn.close()
    rows = max(newlines - 1, 0)  # the header line; no cell of these lists holds a line break
    cpu = watch.result().get("server_cpu_seconds")
    # On a machine shared with other work, rows per second of the worker's own CPU time says
    # what the code does; the wall-clock rate says what this run saw.
    per_cpu = {"rows_per_cpu_second": round(rows / cpu, 1)} if cpu else {}
    return {**per_cpu,"status": response.status, "content_type": response.getheader("Content-Type", ""),
            "rows": rows, "bytes": size, "first_byte_ms": round((first_byte or total) * 1000, 1),
            "first_row_ms": round((first_row or total) * 1000, 1), "seconds": round(total, 2),
            "rows_per_second": round(rows / total, 1) if total else None, **watch.result()}


def export_job(base_url: str, path: str, *, headers: dict) -> dict:
    """An export above the inline limit: the request (it must answer at once with the job's
    page), then the job run here as the Celery worker runs it (governance.kernel.exports.
    job_run; the run's broker has no worker): rows/s of the writing, the file's size."""
    from governance.kernel import exports
    from governance.models import ExportJob

    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    answered = time.perf_counter() - started
    location = response.getheader("Location", "")
    conn.close()
    if response.status != 302 or "/exports/" not in location:
        return {"status": response.status, "errors": 1, "note": "the request did not hand the export to a job"}
    job = ExportJob.objects.get(token=location.rstrip("/").split("/")[-1])
    started, cpu_started = time.perf_counter(), time.process_time()
    outcome = exports.job_run(job.pk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    job.refresh_from_db()
    result = {"status": response.status, "request_ms": round(answered * 1000, 1), "outcome": outcome,
              "fmt": job.fmt, "rows": job.done_rows, "bytes": job.size, "seconds": round(seconds, 2),
              "rows_per_second": round(job.done_rows / seconds, 1) if seconds else None,
              "cpu_seconds": round(cpu, 2), "rows_per_cpu_second": round(job.done_rows / cpu, 1) if cpu else None,
              "errors": 0}
    if job.file_name:
        exports.file_path(job).unlink(missing_ok=True)
    job.delete()
    return result
