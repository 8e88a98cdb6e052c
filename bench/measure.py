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


def intake_body(i: int, *, buildings: list[str], categories: list[str], seed: int = 8) -> dict:
    rng = random.Random(f"{seed}:{i}")
    return {"category": rng.choice(categories), "building": rng.choice(buildings),
            "description": "楼道灯坏了，晚上看不见路", "phone": f"13{rng.randrange(10**9):09d}"}


def intake_throughput(base_url: str, *, buildings: list[str], categories: list[str], requests: int = 300,
                      concurrency: int = 8) -> dict:
    """POST ``requests`` public appeals (JSON) as fast as the server takes them;
    errors = anything but 201."""
    def work(conn, i: int) -> bool:
        body = json.dumps(intake_body(i, buildings=buildings, categories=categories), ensure_ascii=False)
        conn.request("POST", "/api/v1/appeals/", body=body.encode(),
                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status == 201

    results, elapsed = _run_threads(base_url, work, requests, concurrency)
    ok = sum(1 for _ms, good in results if good)
    times = [ms for ms, _ok in results]
    return {"requests": len(results), "concurrency": concurrency, "created": ok, "errors": len(results) - ok,
            "seconds": round(elapsed, 2), "per_second": round(ok / elapsed, 1),
            "p95_ms": round(percentile(times, 95), 1)}


class _Rollback(Exception):
    pass


def escalation_time(*, due: int | None, now: datetime | None = None) -> dict:
    """Time ``escalation_sweep`` over ``due`` open appeals whose level deadline has passed
    (None: every open appeal it may escalate). In one transaction rolled back at the end,
    so the database stays as seeded and the run can be repeated: the chosen appeals get
    a level deadline an hour ago, every other open appeal one a month ahead (neither
    due nor warned), then the sweep runs and is timed."""
    from appeals.enums import TRANSITIONS, AppealAction, EscalationLevel
    from appeals.escalation import escalation_sweep
    from appeals.models import Appeal

    now = now or timezone.now()
    open_qs = Appeal.objects.filter(state__in=TRANSITIONS[AppealAction.ESCALATE].sources)
    result: dict = {}
    try:
        with transaction.atomic():
            candidates = open_qs.exclude(escalation_level=EscalationLevel.DISTRICT)
            if due is not None:
                ids = list(candidates.order_by("id").values_list("id", flat=True)[:due])
                open_qs.update(level_deadline=now + timedelta(days=30))
                marked = Appeal.objects.filter(id__in=ids).update(level_deadline=now - timedelta(hours=1))
            else:
                open_qs.exclude(pk__in=candidates.values("pk")).update(level_deadline=now + timedelta(days=30))
                marked = candidates.update(level_deadline=now - timedelta(hours=1))
            started = time.perf_counter()
            sweep = escalation_sweep(now=now)
            seconds = time.perf_counter() - started
            result = {"due": marked, "escalated": getattr(sweep, "escalated", None), "seconds": round(seconds, 2),
                      "per_second": round(marked / seconds, 1) if seconds else None}
            raise _Rollback
    except _Rollback:
        pass
    return result


def scoring_time(*, month: date, now: datetime | None = None) -> dict:
    """Time ``compute_month`` for ``month`` (forced: a final month is recomputed)."""
    from governance.assessment.services import compute_month

    started = time.perf_counter()
    result = compute_month(month=month, now=now, force=True)
    seconds = time.perf_counter() - started
    return {"month": f"{month:%Y-%m}", "appeals": result.appeals, "units": result.units,
            "tallies": result.tallies, "seconds": round(seconds, 2)}


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
