from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from governance import export_views, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("governance.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script from ?script: no inline script (the CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

if settings.PUBLIC_SITE_ENABLED:
    # Residents' pages: submit and track appeals (no account needed).
    urlpatterns += [path("open311/v2/", include("appeals.open311.urls"))]
    urlpatterns += [path("", include("appeals.public_urls"))]

if settings.STAFF_SITE_ENABLED:
    urlpatterns += [
        path("", views.home, name="home"),
        path(
            "accounts/login/",
            auth_views.LoginView.as_view(redirect_authenticated_user=True),
            name="login",
        ),
        path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
        path("territory/", include("grids.urls")),
        path("appeals/", include("appeals.urls")),
        path("deliberation/", include("appeals.deliberation.urls")),
        path("visits/", include("appeals.visits.urls")),
        path("volunteers/", include("volunteers.urls")),
        path("reports/", include("governance.reports.urls")),
        path("exports/", include((export_views.urlpatterns, "exports"))),
        path("notifications/", include("governance.staff.urls")),
        path("admin/", admin.site.urls),
    ]

handler404 = "governance.views.page_not_found"
handler500 = "governance.views.server_error"

admin.site.site_header = "共治 · 管理后台"
admin.site.site_title = "共治"
admin.site.index_title = "数据管理"
