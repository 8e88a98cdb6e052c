"""Domain errors, mapped once to HTTP: by ApplicationErrorMiddleware for pages and by
governance.kernel.api.errors.exception_handler for the API."""

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """Bad input or a rule refused: 400, with a message that says what to fix."""

    status_code = 400
    code = "invalid"

    def __init__(self, message, *, extra: dict | None = None, retry_after: int | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.extra = extra or {}
        # Seconds until asking again makes sense: sent as Retry-After (and in the API's body).
        self.retry_after = retry_after
        if retry_after is not None:
            self.extra.setdefault("retry_after", retry_after)


class ActionForbidden(ApplicationError):
    """Inside the jurisdiction, but this role may not do this: 403 with the reason."""

    status_code = 403
    code = "forbidden"


class NotFound(ApplicationError):
    """Does not exist, or lies outside the account's jurisdiction (the same to the caller)."""

    status_code = 404
    code = "not_found"

    def __init__(self, message=None, **kwargs):
        super().__init__(message or _("未找到，或不在您的辖区内。"), **kwargs)


class Conflict(ApplicationError):
    """The object changed under us (another person got there first), or the state forbids it."""

    status_code = 409
    code = "conflict"


# How long to wait before asking again after an outage (503), in seconds.
RETRY_AFTER_SECONDS = 30


class ServiceUnavailable(ApplicationError):
    """Something the action needs is down for now (storage, the database): 503; the user
    is told to try again later (Retry-After)."""

    status_code = 503
    code = "unavailable"

    def __init__(self, message, **kwargs):
        kwargs.setdefault("retry_after", RETRY_AFTER_SECONDS)
        super().__init__(message, **kwargs)
