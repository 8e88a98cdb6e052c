"""No tracking code, full phone number, name or ID number in any log line
(governance.kernel.logmask on every handler: Django's, Celery's, gunicorn's access log)."""

import io
import logging
import logging.config
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.http import urlencode
from rest_framework.test import APIClient

from appeals.models import Appeal
from governance.kernel.logmask import MaskSecrets, mask_text
from tests.appeals.factories import grid_category

CODE = "K7Q2M9X4B8TZ"  # a tracking code's shape (appeals.models.TRACKING_ALPHABET)


@pytest.mark.parametrize(("line", "logged"), [
    ('"GET /track/K7Q2M9X4B8TZ/ HTTP/1.1" 200 3120', '"GET /track/***/ HTTP/1.1" 200 3120'),
    ('"POST /track/K7Q2M9X4B8TZ/evaluate/ HTTP/1.1" 302 0', '"POST /track/***/evaluate/ HTTP/1.1" 302 0'),
    ("Not Found: /api/v1/track/K7Q2M9X4B8TZ/", "Not Found: /api/v1/track/***/"),
    ('"GET /track/K7Q2M9X4B8TZ/?token=eyJhbGciOi.abc-def HTTP/1.1" 200 1',
     '"GET /track/***/?token=*** HTTP/1.1" 200 1'),
    ('"GET /t/eyJhbGciOi.abc-def/ HTTP/1.1" 302 0', '"GET /t/***/ HTTP/1.1" 302 0'),
    ('"GET /volunteers/checkin/AbC.123:xyz/ HTTP/1.1" 200 9', '"GET /volunteers/checkin/***/ HTTP/1.1" 200 9'),
    ('"GET /appeals/?q=13812345678&state=received HTTP/1.1" 200 1', '"GET /appeals/?q=***&state=received HTTP/1.1" 200 1'),
    ('"GET /api/v1/households/?search=%E7%8E%8B%E5%BB%BA%E5%9B%BD HTTP/1.1" 200 1',
     '"GET /api/v1/households/?search=*** HTTP/1.1" 200 1'),
    ('"GET /appeals/new/?bq=x&phone=13812345678&name=%E7%8E%8B HTTP/1.1" 200 1',
     '"GET /appeals/new/?bq=***&phone=***&name=*** HTTP/1.1" 200 1'),
    ("SMS to 138****5678: 查询码 K7Q2M9X4B8TZ", "SMS to 138****5678: 查询码 K7********TZ"),
    # A code of letters only (made before codes always carried a digit) in an appeal's path.
    ('"GET /api/v1/appeals/EXUDCNVDUGSU/ HTTP/1.1" 404 71', '"GET /api/v1/appeals/EX********SU/ HTTP/1.1" 404 71'),
    ("Not Found: /appeals/EXUDCNVDUGSU/", "Not Found: /appeals/EX********SU/"),
    ("call 13812345678 or +86 139-0000-1111", "call 138****5678 or 139****1111"),
    ("id 11010119900101123X here", "id *** here"),
    ('"GET /accounts/login/?next=/appeals/%3Fq%3D13812345678 HTTP/1.1" 200 1',
     '"GET /accounts/login/?next=*** HTTP/1.1" 200 1'),
    ("/x/?a=%3D13812345678", "/x/?a=%3D138****5678"),
    ('duplicate key\nDETAIL:  Key (household_id, name)=(5, 王建国) already exists.\n',
     "duplicate key\nDETAIL: [已省略]\n"),
    # Kept: what is no one's secret.
    ('"GET /reports/?period=2026-10&page=2 HTTP/1.1" 200 1', '"GET /reports/?period=2026-10&page=2 HTTP/1.1" 200 1'),
    ("escalation sweep: {'escalated': 12}", "escalation sweep: {'escalated': 12}"),
    ("110101001001001", "110101001001001"),  # a grid code (15 digits)
])
def test_mask_text(line, logged):
    assert mask_text(line) == logged


def test_every_new_tracking_code_has_the_shape_the_mask_recognises():
    # About 2.8 % of uniform draws are letters only: 2,000 draws would hold ~56 of them.
    from appeals.models import new_tracking_code

    for _ in range(2000):
        code = new_tracking_code()
        assert mask_text(f"查询码 {code}") == f"查询码 {code[:2]}********{code[-2:]}", code


@pytest.fixture
def log_output():
    """What the console handler of settings.LOGGING writes (after its filter). The
    configuration is applied afresh: a live Celery worker earlier in the run replaces the
    root logger's handlers with its own."""
    logging.config.dictConfig(settings.LOGGING)
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    assert any(isinstance(f, MaskSecrets) for f in handler.filters)
    stream = io.StringIO()
    # Not setStream(): it flushes the stream it replaces, which pytest may have closed.
    previous, handler.stream = handler.stream, stream
    yield stream
    handler.stream = previous


def _served(client, method: str, path: str, data=None, **extra):
    """A request, logged as the development server logs it (django.server's access line)."""
    response = getattr(client, method.lower())(path, data or {}, **extra)
    query = f"?{urlencode(data)}" if data and method == "GET" else ""
    logging.getLogger("django.server").info('"%s %s%s HTTP/1.1" %s %s', method, path, query,
                                            response.status_code, len(getattr(response, "content", b"")))
    return response


@pytest.mark.django_db(transaction=True)
def test_the_whole_loop_leaves_no_phone_name_or_code_in_the_logs(city, client, log_output, settings):
    settings.SMS_BACKEND = "appeals.sms.ConsoleSmsBackend"  # the development backend logs each message
    category = grid_category()
    phone, name = "13812345678", "王建国"
    # The resident files on the web form.
    response = _served(client, "POST", reverse("public:submit"), {
        "street": city.street_a.code, "community": city.comm_a.code, "building": city.building_a1.code,
        "category": str(category.pk), "description": "楼下垃圾堆放多日无人清理", "name": name, "phone": phone,
    })
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    code = appeal.tracking_code
    # The SMS link, the tracking page, the API's tracking.
    _served(client, "GET", reverse("public:track-detail", args=[code]))
    _served(client, "POST", reverse("public:track-detail", args=[code]), {"phone_last4": "5678"})
    _served(APIClient(), "GET", f"/api/v1/track/{code}/", {"phone_last4": "5678"})
    _served(client, "GET", reverse("public:track"), {"code": code})
    # Staff search for the resident by phone and by name, on pages and the API.
    worker = APIClient()
    worker.force_login(city.users.grid_worker)
    _served(worker, "GET", "/appeals/", {"q": phone})
    _served(worker, "GET", f"/territory/community/{city.comm_a.code}/", {"q": name})
    _served(worker, "GET", "/api/v1/appeals/", {"search": phone})
    _served(worker, "GET", "/api/v1/households/", {"search": name})
    outsider = APIClient()
    outsider.force_login(city.users.outsider)
    assert _served(outsider, "GET", f"/api/v1/appeals/{code}/").status_code == 404  # "Not Found: …/<code>/"
    # The grid worker resolves it (the result SMS with the evaluation link), the resident evaluates.
    _served(worker, "POST", f"/api/v1/appeals/{code}/sign/", {"contact": True}, format="json")
    _served(worker, "POST", f"/api/v1/appeals/{code}/resolve/", {"result": "已清运"}, format="json")
    _served(client, "POST", reverse("public:track-evaluate", args=[code]),
            {"solved": "yes", "rating": "satisfied", "comment": "谢谢", "version": Appeal.objects.get().version})
    # A database error about the resident: PostgreSQL's DETAIL line holds the failing row.
    from volunteers.models import Volunteer

    try:
        with transaction.atomic():
            Volunteer.objects.create(community=city.comm_a, name=name, phone=phone)  # neither user nor resident
    except IntegrityError:
        logging.getLogger("django.request").error("Internal Server Error: %s", "/territory/", exc_info=True)

    logged = log_output.getvalue()
    assert "SMS to 138****5678" in logged and "/track/***/" in logged and "q=***" in logged
    assert "IntegrityError" in logged
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        assert "DETAIL: [已省略]" in logged
    for secret in (phone, name, code, "5678 HTTP"):
        assert secret not in logged, secret


def test_celerys_own_handlers_get_the_filter():
    """A worker and beat set up their own handlers (not settings.LOGGING's): the filter is
    added to them when Celery sets them up (governance.celery)."""
    from celery.signals import after_setup_logger, after_setup_task_logger

    for signal in (after_setup_logger, after_setup_task_logger):
        logger = logging.getLogger(f"test.celery.{signal.name}")
        handler = logging.StreamHandler(io.StringIO())
        logger.addHandler(handler)
        signal.send(sender=None, logger=logger, loglevel=logging.INFO, logfile=None, format="", colorize=False)
        logger.warning("SMS to %s: 查询码 %s", "13812345678", CODE)
        assert handler.stream.getvalue() == "SMS to 138****5678: 查询码 K7********TZ\n"
        logger.removeHandler(handler)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(server: subprocess.Popen, port: int, seconds: float = 120) -> None:
    """Until gunicorn's master listens (its workers may still be booting: the kernel queues
    the connection). A bare connection closed at once sends no request and writes no
    access line; the server gone before then fails with its output."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            out, err = server.communicate()
            raise AssertionError(f"gunicorn exited with {server.returncode}: {out}{err}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"gunicorn did not listen on {port} within {seconds} s")


def test_gunicorns_access_log_is_masked_too(tmp_path):
    """The Docker image's web server, with its config file: the access line of a tracking
    link and a staff search, and no code or phone in it."""
    port = _free_port()
    env = {**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", "x"), "ALLOWED_HOSTS": "127.0.0.1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "governance.wsgi:application", "--config", "python:governance.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_listening(server, port)
        for path in (f"/track/{CODE}/", "/accounts/login/?next=/appeals/%3Fq%3D13812345678&q=13812345678"):
            # Asked once each, the answer waited for (a first request on a loaded machine takes
            # seconds): asking again would write a second access line.
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120)
            except urllib.error.HTTPError:
                pass  # answered (any status): the access line is written
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    access = [line for line in out.splitlines() if "GET /" in line]
    assert len(access) == 2, (out, err)
    # Each line is written by the worker's thread that served it, after the answer: under
    # load the second request's line can come first (gthread), so the lines are found by
    # what they say, not by their order.
    assert sum("/track/***/" in line for line in access) == 1, (access, err)
    assert sum("/accounts/login/?next=***&q=***" in line for line in access) == 1, (access, err)
    assert CODE not in out + err and "13812345678" not in out + err
