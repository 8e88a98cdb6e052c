"""Included at /api/v1/reports/ (governance/api/urls.py)."""

from django.urls import path

from governance.kernel.replica import on_replica
from governance.reports import apis

urlpatterns = [
    path("units/", on_replica(apis.ReportUnitsAPI.as_view()), name="api-report-units"),
    path("units/<str:kind>/<str:code>/", on_replica(apis.ReportUnitDetailAPI.as_view()), name="api-report-unit"),
    path("supervision/", on_replica(apis.ReportSupervisionAPI.as_view()), name="api-report-supervision"),
    path("hotspots/", on_replica(apis.ReportHotspotsAPI.as_view()), name="api-report-hotspots"),
    path("staffing/", on_replica(apis.ReportStaffingAPI.as_view()), name="api-report-staffing"),
]
