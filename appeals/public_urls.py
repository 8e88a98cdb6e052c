"""The residents' pages, included at the site root when PUBLIC_SITE_ENABLED.

The staff home owns "" when the staff site is on (it is routed after these), so the
root redirects to the submit page only on a public-only deployment.
"""

from django.conf import settings
from django.urls import path

from appeals import map_views, my_views
from appeals import public_views as views
from appeals.deliberation import views as deliberation_views

app_name = "public"

urlpatterns = [
    path("submit/", views.submit, name="submit"),
    path("submit/done/", views.submit_done, name="submit-done"),
    path("submit/similar/", views.submit_similar, name="submit-similar"),
    path("submit/suggest/", views.submit_suggest, name="submit-suggest"),
    path("track/", views.track, name="track"),
    path("track/<str:tracking_code>/", views.track_detail, name="track-detail"),
    # The SMS link: the token stands for the phone's last 4 digits (masked in logs).
    path("track/<str:tracking_code>/k/<str:token>/", views.track_link, name="track-link"),
    path("track/<str:tracking_code>/evaluate/", views.track_evaluate, name="track-evaluate"),
    path("track/<str:tracking_code>/withdraw/", views.track_withdraw, name="track-withdraw"),
    path("track/<str:tracking_code>/forget/", views.track_forget, name="track-forget"),
    path("track/<str:tracking_code>/supplement/", views.track_supplement, name="track-supplement"),
    path("track/<str:tracking_code>/photos/<int:pk>/", views.track_photo, name="track-photo"),
    # 我的诉求: the phone proven by a one-time code (kept in the session, never in a URL).
    path("my/", my_views.my_appeals, name="my-appeals"),
    path("my/code/", my_views.my_code, name="my-code"),
    path("my/verify/", my_views.my_verify, name="my-verify"),
    path("my/logout/", my_views.my_logout, name="my-logout"),
    # 民主协商公示: a community's meetings and decisions, no names (appeals.deliberation.selectors).
    path("notice/<str:code>/", deliberation_views.public_notice, name="deliberation-notice"),
    path("places/streets/", views.places_streets, name="places-streets"),
    path("places/communities/", views.places_communities, name="places-communities"),
    path("places/buildings/", views.places_buildings, name="places-buildings"),
    path("places/near/", map_views.places_near, name="places-near"),
    path("places/named/", map_views.places_named, name="places-named"),
]

if not settings.STAFF_SITE_ENABLED:
    urlpatterns.insert(0, path("", views.index, name="index"))
