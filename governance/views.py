import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found as html_page_not_found

from appeals.selectors import calendar_provisional_years, queue_counts
from governance.celery import app as celery_app
from governance.enums import Role
from governance.reports.home import home_card as report_home_card
from governance.staff.selectors import jurisdiction_for

logger = logging.getLogger(__name__)

BROKER_CHECK_TIMEOUT = 2  # seconds


@require_GET
@never_cache
def healthz(request):
    """200 when the database and the broker answer; 503 naming the failing part. Also
    says (still 200) which years that hold open deadlines have a provisional calendar
    (working days computed from the law, the official schedule not entered yet)."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not healthy", reported by name
        logger.warning("healthz: database check failed: %s", exc.__class__.__name__)
        checks["database"] = "error"
    try:
        # One attempt with a short connect timeout: a load balancer asking for health
        # must get its answer in a few seconds, also when the broker host is gone.
        with celery_app.connection_for_write(
            connect_timeout=BROKER_CHECK_TIMEOUT,
            transport_options={
                "socket_connect_timeout": BROKER_CHECK_TIMEOUT,
                "socket_timeout": BROKER_CHECK_TIMEOUT,
            },
        ) as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_CHECK_TIMEOUT)
        checks["broker"] = "ok"
    except Exception as exc:
        logger.warning("healthz: broker check failed: %s", exc.__class__.__name__)
        checks["broker"] = "error"
    healthy = all(v == "ok" for v in checks.values())
    failing = [k for k, v in checks.items() if v != "ok"]
    body = {"status": "ok" if healthy else "error", "checks": checks, "failing": failing}
    if checks["database"] == "ok":
        body["calendar"] = _calendar_health()
    return JsonResponse(body, status=200 if healthy else 503)


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
    jurisdiction = jurisdiction_for(request.user)
    is_admin = request.user.is_staff or request.user.is_superuser
    # Admins and supervisors are told while a year with open deadlines is provisional.
    warn_calendar = is_admin or Role.SUPERVISOR in jurisdiction.roles
    return render(
        request,
        "governance/home.html",
        {"jurisdiction": jurisdiction, "posts": jurisdiction.posts,
         "my_queue": queue_counts(jurisdiction=jurisdiction),
         "report_card": report_home_card(jurisdiction=jurisdiction),
         "provisional_years": calendar_provisional_years() if warn_calendar else [],
         "calendar_admin_link": is_admin},
    )


def page_not_found(request, exception=None):
    """API clients get JSON, people get the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "未找到该接口或对象。", "code": "not_found"}, status=404)
    return html_page_not_found(request, exception)
