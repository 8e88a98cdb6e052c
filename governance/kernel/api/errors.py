"""The API's one mapping of errors to HTTP: JSON with a message that says what to fix."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from governance.kernel.errors import RETRY_AFTER_SECONDS, ApplicationError, NotFound
from governance.kernel.middleware import is_outage, unavailable_message


def exception_handler(exc, context):
    if is_outage(exc):
        # The database is down: 503 and when to try again, never a 500.
        return Response({"code": "unavailable", "detail": unavailable_message()}, status=503,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, ApplicationError):
        body = {"detail": exc.message, "code": exc.code, **exc.extra}
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return Response(body, status=exc.status_code, headers=headers)
    if isinstance(exc, Http404):
        exc = NotFound()
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        # Keep the reason: a 403 must say why.
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        code = getattr(response.data["detail"], "code", None)
        if code:
            response.data["code"] = code
    return response
