"""/open311/v2/ — GeoReport v2 resources, each as .json or .xml."""

from django.urls import re_path

from appeals.open311 import views

FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery_view, name="open311-discovery"),
    re_path(r"^services" + FMT, views.services_view, name="open311-services"),
    re_path(r"^services/(?P<service_code>[^/]+?)" + FMT, views.service_definition_view, name="open311-service"),
    re_path(r"^requests" + FMT, views.requests_view, name="open311-requests"),
    re_path(r"^requests/(?P<request_id>[^/]+?)" + FMT, views.request_detail_view, name="open311-request"),
    re_path(r"^tokens/(?P<token>[^/]+?)" + FMT, views.token_view, name="open311-token"),
    # The public photos (a request's media_url): not a GeoReport resource, the portal's own.
    re_path(r"^media/(?P<pk>[0-9]{1,18})$", views.media_view, name="open311-media"),
    re_path(r"^(?P<path>.*)$", views.not_found_view, name="open311-not-found"),
]
