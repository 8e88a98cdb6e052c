"""The REST API under /api/v1/: token login, then each app's endpoints."""

from django.urls import include, path

from governance.kernel.api.auth import TokenLoginAPI, TokenRotateAPI

urlpatterns = [
    path("auth/token/", TokenLoginAPI.as_view(), name="api-token"),
    path("auth/token/rotate/", TokenRotateAPI.as_view(), name="api-token-rotate"),
    path("", include("grids.api_urls")),
    path("", include("appeals.api_urls")),
    path("", include("volunteers.api_urls")),
    path("reports/", include("governance.reports.api_urls")),
]
