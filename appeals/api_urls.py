"""Included at /api/v1/ (governance/api/urls.py)."""

from django.urls import include, path

from appeals import apis
from appeals.deliberation import apis as meeting_apis
from appeals.visits import apis as visit_apis

urlpatterns = [
    path("appeals/", apis.AppealCollectionAPI.as_view(), name="api-appeals"),
    path("appeals/<str:tracking_code>/", apis.AppealDetailAPI.as_view(), name="api-appeal"),
    path("appeals/<str:tracking_code>/photos/<int:pk>/", apis.AppealPhotoAPI.as_view(), name="api-appeal-photo"),
    path("appeals/<str:tracking_code>/phone/", apis.AppealPhoneRevealAPI.as_view(), name="api-appeal-phone"),
    *[
        path(f"appeals/<str:tracking_code>/{segment}/", api.as_view(), name=f"api-appeal-{segment}")
        for segment, api in apis.ACTIONS.items()
    ],
    path("track/<str:tracking_code>/", apis.TrackAPI.as_view(), name="api-track"),
    path("categories/", apis.AppealCategoryListAPI.as_view(), name="api-categories"),
]
urlpatterns += [path("", include("appeals.apis_jobs"))]  # 上报 and 延期 (appeals/apis_jobs.py)
# 入户走访 and 民主协商 (appeals/visits/apis.py, appeals/deliberation/apis.py).
urlpatterns += [
    path("visits/", visit_apis.VisitListAPI.as_view(), name="api-visits"),
    path("visits/plans/", visit_apis.VisitPlanListAPI.as_view(), name="api-visit-plans"),
    path("visits/households/<int:pk>/", visit_apis.VisitHouseholdAPI.as_view(), name="api-visit-household"),
    path("visits/households/<int:pk>/visits/", visit_apis.VisitRecordAPI.as_view(), name="api-visit-record"),
    path("visits/<int:pk>/", visit_apis.VisitDetailAPI.as_view(), name="api-visit"),
    path("visits/<int:pk>/photos/<int:index>/", visit_apis.VisitPhotoAPI.as_view(), name="api-visit-photo"),
    path("meetings/", meeting_apis.MeetingListAPI.as_view(), name="api-meetings"),
    path("meetings/<int:pk>/", meeting_apis.MeetingDetailAPI.as_view(), name="api-meeting"),
    path("meeting-decisions/", meeting_apis.MeetingDecisionListAPI.as_view(), name="api-meeting-decisions"),
    path("meeting-decisions/<int:pk>/", meeting_apis.MeetingDecisionDetailAPI.as_view(),
         name="api-meeting-decision"),
]  # 上报 and 延期 (appeals/apis_jobs.py)
