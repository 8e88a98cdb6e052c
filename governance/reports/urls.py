"""Report pages, included at /reports/ on the staff site (governance/urls.py)."""

from django.urls import path

from governance.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("unit/<str:kind>/<str:code>/", views.unit, name="unit"),
    path("supervision/", views.supervision, name="supervision"),
    path("supervision/<str:code>/", views.supervision_notes, name="supervision-notes"),
    path("hotspots/", views.hotspots, name="hotspots"),
    path("staffing/", views.staffing, name="staffing"),
    path("visits/", views.visits, name="visits"),
    path("suggestions/", views.suggestions, name="suggestions"),
    path("map/", views.map_page, name="map"),
    path("map/data/", views.map_data, name="map-data"),
    path("map/density/", views.map_density, name="map-density"),
]
