"""The project's URLs plus the volunteers API at /api/v1/ (until governance/api/urls.py includes it)."""

from django.urls import include, path

from governance.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("api/v1/", include("volunteers.api_urls")), *project_urlpatterns]
