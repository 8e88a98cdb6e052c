"""Included at /api/v1/reports/ (governance/api/urls.py)."""

from django.urls import path

from governance.reports import apis

urlpatterns = [
    path("units/", apis.ReportUnitsAPI.as_view(), name="api-report-units"),
    path("units/<str:kind>/<str:code>/", apis.ReportUnitDetailAPI.as_view(), name="api-report-unit"),
    path("supervision/", apis.ReportSupervisionAPI.as_view(), name="api-report-supervision"),
    path("hotspots/", apis.ReportHotspotsAPI.as_view(), name="api-report-hotspots"),
    path("staffing/", apis.ReportStaffingAPI.as_view(), name="api-report-staffing"),
]
