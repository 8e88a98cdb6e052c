import json
import logging
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from governance.kernel.errors import RETRY_AFTER_SECONDS, ApplicationError

logger = logging.getLogger(__name__)

# How long a client is asked to wait before trying again after a 503.


def is_outage(exc: BaseException | None) -> bool:
    """The database cannot be reached or dropped the connection (stopped, restarting,
    out of connections, a lock wait given up): the request may succeed a moment later."""
    return isinstance(exc, OperationalError | InterfaceError)


def unavailable_message() -> str:
    return _("系统暂时不可用，请稍后再试")


def unavailable_response(request) -> HttpResponse:
    """503 with Retry-After: JSON for the API ({"code": "unavailable", "detail": …}), the
    Open311 error list for Open311, else a page rendered without context processors or
    request.user (both query the database that is down)."""
    message = unavailable_message()
    path = getattr(request, "path", "")
    if path.startswith("/api/"):
        response = JsonResponse({"code": "unavailable", "detail": message}, status=503)
    elif path.startswith("/open311/"):
        if path.endswith(".xml"):
            body = (f'<?xml version="1.0" encoding="utf-8"?><errors><error><code>503</code>'
                    f"<description>{message}</description></error></errors>")
            response = HttpResponse(body, status=503, content_type="text/xml; charset=utf-8")
        else:
            response = HttpResponse(json.dumps([{"code": 503, "description": message}], ensure_ascii=False),
                                    status=503, content_type="application/json")
    else:
        response = HttpResponse(
            render_to_string("503.html", {"message": message, "retry_after": RETRY_AFTER_SECONDS}), status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """A view that lost the database answers 503 "temporarily unavailable", not 500.
    (Failures in middleware — the session, the user — reach handler500, which answers
    the same: governance.views.server_error.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_outage(exception):
            return None
        logger.warning("database unavailable (%s: %s): 503 for %s", exception.__class__.__name__, exception,
                       request.path)
        return unavailable_response(request)


class ApplicationErrorMiddleware:
    """Pages: a domain error becomes its HTTP status with the message shown to the user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ApplicationError):
            return None
        response = render(
            request,
            "error.html",
            {"status": exception.status_code, "message": exception.message},
            status=exception.status_code,
        )
        if exception.retry_after is not None:
            response["Retry-After"] = str(exception.retry_after)
        return response


SESSION_REFRESHED_KEY = "_refreshed"


class SessionRefreshMiddleware:
    """Idle expiry without a write per request.

    A staff session expires SESSION_COOKIE_AGE after it was last saved. Saving it on
    every request (SESSION_SAVE_EVERY_REQUEST) is an UPDATE of the session table per
    page; here a request saves it only when the refresh interval has passed since the
    last save (a stamp in the session): SESSION_REFRESH_SECONDS, at most a tenth of the
    idle time. An idle session so lasts between SESSION_COOKIE_AGE − the interval and
    SESSION_COOKIE_AGE after the last request. Only sessions the request has already
    loaded (an authenticated page) are looked at: anonymous requests and the public API
    never read one. Placed after SessionMiddleware, so that its save sees the change.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or not session.accessed or session.modified or session.is_empty():
            return response
        now = int(time.time())
        stamp = session.get(SESSION_REFRESHED_KEY, 0)
        interval = min(settings.SESSION_REFRESH_SECONDS, settings.SESSION_COOKIE_AGE // 10)
        if not isinstance(stamp, int) or now - stamp >= interval:
            session[SESSION_REFRESHED_KEY] = now
        return response


def stamp_session_on_login(sender, request, user, **kwargs) -> None:
    """A login saves the session: it is as fresh as a refresh (user_logged_in), so the
    first page after it does not save it again. Not for a login with no session (the
    API's token login): stamping would create one."""
    session = getattr(request, "session", None)
    if session is not None and session.get(SESSION_KEY):
        session[SESSION_REFRESHED_KEY] = int(time.time())


class PermissionsPolicyMiddleware:
    """The Permissions-Policy header from settings.PERMISSIONS_POLICY: each feature with the
    origins allowed to use it (``'self'``), or none (off)."""

    def __init__(self, get_response):
        self.get_response = get_response
        parts = []
        for feature, origins in settings.PERMISSIONS_POLICY.items():
            allowed = " ".join("self" if origin in ("'self'", "self") else f'"{origin}"' for origin in origins)
            parts.append(f"{feature}=({allowed})")
        self.header = ", ".join(parts)

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response


NUL_MESSAGE = "地址中含有不允许的空字符（NUL，%00）：请删去后重试。"


class RejectNulMiddleware:
    """A NUL character in the address is refused with 400 before any view sees it:
    PostgreSQL cannot hold one in a text value, so a code taken from the path would
    otherwise end in a 500. (The query string's parameters are read through one layer,
    governance.kernel.params, which refuses a NUL naming the parameter; form and JSON
    fields refuse it on their own: Django's and DRF's CharField validate against it.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": NUL_MESSAGE, "code": "invalid"}, status=400)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
