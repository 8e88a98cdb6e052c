"""Included at /api/v1/ (governance/api/urls.py)."""

from django.urls import include, path

from appeals import apis

urlpatterns = [
    path("appeals/", apis.AppealCollectionAPI.as_view(), name="api-appeals"),
    path("appeals/<str:tracking_code>/", apis.AppealDetailAPI.as_view(), name="api-appeal"),
    path("appeals/<str:tracking_code>/photos/<int:pk>/", apis.AppealPhotoAPI.as_view(), name="api-appeal-photo"),
    *[
        path(f"appeals/<str:tracking_code>/{segment}/", api.as_view(), name=f"api-appeal-{segment}")
        for segment, api in apis.ACTIONS.items()
    ],
    path("track/<str:tracking_code>/", apis.TrackAPI.as_view(), name="api-track"),
    path("categories/", apis.AppealCategoryListAPI.as_view(), name="api-categories"),
]
urlpatterns += [path("", include("appeals.apis_jobs"))]  # 上报 and 延期 (appeals/apis_jobs.py)
