import logging
import sys
import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found as html_page_not_found
from django.views.defaults import server_error as html_server_error

from appeals.deliberation.selectors import overdue_decisions
from appeals.selectors import calendar_provisional_years, queue_counts
from governance.celery import app as celery_app
from governance.enums import Role
from governance.kernel import outbox, replica, shared_cache
from governance.kernel.middleware import is_outage, unavailable_response
from governance.kernel.tasks import WORKER_SEEN_KEY, health_ping
from governance.reports.home import home_card as report_home_card
from governance.staff.selectors import jurisdiction_for

logger = logging.getLogger(__name__)

BROKER_CHECK_TIMEOUT = 2  # seconds
# The broker is proven by publishing a real task, at most this often per process; the
# answer is kept in between.
BROKER_CHECK_EVERY = 60  # seconds
_broker_checked: dict = {"at": None, "ok": None}


def _broker_ok() -> bool:
    """Publish the no-op task (governance.kernel.tasks.health_ping) — a broker that takes
    connections but refuses writes (out of memory, read-only) is not ok. Kept for
    BROKER_CHECK_EVERY seconds."""
    now = time.monotonic()
    if _broker_checked["at"] is not None and now - _broker_checked["at"] < BROKER_CHECK_EVERY:
        return _broker_checked["ok"]
    try:
        # One attempt with a short connect timeout: a load balancer asking for health
        # must get its answer in a few seconds, also when the broker host is gone.
        with celery_app.connection_for_write(
            connect_timeout=BROKER_CHECK_TIMEOUT,
            transport_options={"socket_connect_timeout": BROKER_CHECK_TIMEOUT, "socket_timeout": BROKER_CHECK_TIMEOUT},
        ) as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_CHECK_TIMEOUT)
            health_ping.apply_async(connection=conn, retry=False, expires=600)
        ok = True
    except Exception as exc:
        logger.warning("healthz: publishing to the broker failed: %s: %s", exc.__class__.__name__, exc)
        ok = False
    _broker_checked.update(at=now, ok=ok)
    return ok


def forget_broker_check() -> None:
    _broker_checked.update(at=None, ok=None)


def _worker_health() -> dict:
    stamp = shared_cache.get(WORKER_SEEN_KEY, what="healthz worker")
    seen = parse_datetime(stamp) if isinstance(stamp, str) else None
    if seen is None:
        return {"last_ran": None, "seconds_ago": None}
    return {"last_ran": stamp, "seconds_ago": max(0, int((timezone.now() - seen).total_seconds()))}


@require_GET
@never_cache
def healthz(request):
    """200 when the database and the broker answer; 503 naming the failing part.

    The broker is proven by publishing a real no-op task (at most once a minute per
    process); ``worker`` says when a worker last ran one. ``outbox`` gives the age of the
    oldest undelivered message (a warning past OUTBOX_WARN_SECONDS, still 200) and the
    failed ones. Also says (still 200) which years that hold open deadlines have a
    provisional calendar (working days computed from the law, the official schedule not
    entered yet). With a read replica, ``replica`` gives its state and lag in bytes (a
    replica down or lagging is a warning: the reports read from the primary)."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not healthy", reported by name
        logger.warning("healthz: database check failed: %s", exc.__class__.__name__)
        checks["database"] = "error"
    checks["broker"] = "ok" if _broker_ok() else "error"
    healthy = all(v == "ok" for v in checks.values())
    failing = [k for k, v in checks.items() if v != "ok"]
    body = {"status": "ok" if healthy else "error", "checks": checks, "failing": failing,
            "worker": _worker_health()}
    if checks["database"] == "ok":
        body["outbox"] = _outbox_health()
        body["calendar"] = _calendar_health()
    if replica.configured():
        # Named, never a 503: without the replica the reports read from the primary.
        body["replica"] = replica.health()
    return JsonResponse(body, status=200 if healthy else 503)


def _outbox_health() -> dict:
    try:
        found = outbox.health()
    except Exception as exc:  # a warning, never the reason for a 503
        logger.warning("healthz: outbox check failed: %s", exc.__class__.__name__)
        return {"oldest_undelivered_seconds": None}
    if found["oldest_undelivered_seconds"] > settings.OUTBOX_WARN_SECONDS:
        found["warning"] = f"a message has waited {found['oldest_undelivered_seconds']} s: is the relay running?"
    return found


def _calendar_health() -> dict:
    try:
        years = [y.year for y in calendar_provisional_years(count=False)]
    except Exception as exc:  # a warning, never the reason for a 503
        logger.warning("healthz: calendar check failed: %s", exc.__class__.__name__)
        return {"provisional_years": None}
    body = {"provisional_years": years}
    if years:
        body["warning"] = "provisional calendar (computed from the law, official schedule not entered): " + ", ".join(
            map(str, years))
    return body


@login_required
def home(request):
    """The 工作台 of staff; an account with no post lands on the home made for it — a
    volunteer's 我的志愿 (volunteers.views.home), which also tells an account that is
    neither that it has no post or volunteer row."""
    jurisdiction = jurisdiction_for(request.user)
    if not jurisdiction.is_staff_member:
        return redirect("volunteers:home")
    is_admin = request.user.is_staff or request.user.is_superuser
    # Admins and supervisors are told while a year with open deadlines is provisional.
    warn_calendar = is_admin or Role.SUPERVISOR in jurisdiction.roles
    return render(
        request,
        "governance/home.html",
        {"jurisdiction": jurisdiction, "posts": jurisdiction.posts,
         "my_queue": queue_counts(jurisdiction=jurisdiction),
         "report_card": report_home_card(jurisdiction=jurisdiction),
         "decisions_overdue": overdue_decisions(jurisdiction=jurisdiction),
         "provisional_years": calendar_provisional_years() if warn_calendar else [],
         "calendar_admin_link": is_admin},
    )


def page_not_found(request, exception=None):
    """API clients get JSON, people get the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "未找到该接口或对象。", "code": "not_found"}, status=404)
    return html_page_not_found(request, exception)


def server_error(request):
    """handler500: a database outage met outside a view (loading the session or the user)
    is a 503 "temporarily unavailable", like one met inside (DatabaseUnavailableMiddleware);
    anything else is the plain 500 page."""
    if is_outage(sys.exc_info()[1]):
        return unavailable_response(request)
    return html_server_error(request)
