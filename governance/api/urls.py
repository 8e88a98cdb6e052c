from django.urls import include, path

from governance.api.auth import TokenLoginAPI

urlpatterns = [
    path("auth/token/", TokenLoginAPI.as_view(), name="api-token"),
    path("", include("grids.api_urls")),
]
