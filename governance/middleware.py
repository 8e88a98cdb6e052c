from django.shortcuts import render

from governance.errors import ApplicationError


class ApplicationErrorMiddleware:
    """Pages: a domain error becomes its HTTP status with the message shown to the user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ApplicationError):
            return None
        return render(
            request,
            "error.html",
            {"status": exception.status_code, "message": exception.message},
            status=exception.status_code,
        )
