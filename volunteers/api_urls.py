"""Included at /api/v1/ (governance/api/urls.py); every path starts with volunteers/."""

from django.urls import path

from volunteers import apis

urlpatterns = [
    path("volunteers/me/", apis.VolunteerMeAPI.as_view(), name="api-volunteers-me"),
    path("volunteers/me/points/", apis.VolunteerMePointsAPI.as_view(), name="api-volunteers-me-points"),
    path("volunteers/me/signups/", apis.VolunteerMeSignupsAPI.as_view(), name="api-volunteers-me-signups"),
    path("volunteers/activities/", apis.VolunteerActivityListAPI.as_view(), name="api-volunteers-activities"),
    path("volunteers/activities/<int:pk>/", apis.VolunteerActivityDetailAPI.as_view(), name="api-volunteers-activity"),
    path("volunteers/activities/<int:pk>/signup/", apis.VolunteerSignupAPI.as_view(), name="api-volunteers-signup"),
    path("volunteers/activities/<int:pk>/cancel-signup/", apis.VolunteerSignupCancelAPI.as_view(),
         name="api-volunteers-signup-cancel"),
    path("volunteers/activities/<int:pk>/check/", apis.VolunteerSelfCheckAPI.as_view(), name="api-volunteers-self-check"),
    path("volunteers/activities/<int:pk>/signups/", apis.VolunteerActivitySignupListAPI.as_view(),
         name="api-volunteers-signups"),
    path("volunteers/activities/<int:pk>/signups/<int:signup_pk>/check-in/", apis.VolunteerCheckInAPI.as_view(),
         name="api-volunteers-check-in"),
    path("volunteers/activities/<int:pk>/signups/<int:signup_pk>/check-out/", apis.VolunteerCheckOutAPI.as_view(),
         name="api-volunteers-check-out"),
    path("volunteers/activities/<int:pk>/finish/", apis.VolunteerActivityFinishAPI.as_view(), name="api-volunteers-finish"),
    path("volunteers/activities/<int:pk>/cancel/", apis.VolunteerActivityCancelAPI.as_view(), name="api-volunteers-cancel"),
    path("volunteers/check/qr/", apis.VolunteerQrCheckAPI.as_view(), name="api-volunteers-qr-check"),
    path("volunteers/rewards/", apis.VolunteerRewardListAPI.as_view(), name="api-volunteers-rewards"),
    path("volunteers/rewards/<int:pk>/redeem/", apis.VolunteerRewardRedeemAPI.as_view(), name="api-volunteers-redeem"),
    path("volunteers/overview/volunteers/", apis.VolunteerOverviewHoursAPI.as_view(), name="api-volunteers-overview-hours"),
    path("volunteers/overview/party-members/", apis.VolunteerOverviewMembersAPI.as_view(),
         name="api-volunteers-overview-members"),
    path("volunteers/overview/organizations/", apis.VolunteerOverviewOrganizationsAPI.as_view(),
         name="api-volunteers-overview-organizations"),
]
