"""Report pages, included at /reports/ on the staff site (governance/urls.py).

The pages that only read (tables, exports, drill-down, hot spots, the map) read from the
replica when there is one (``on_replica``: governance.kernel.replica); the 督办 notes page
writes and reads what it wrote."""

from django.urls import path

from governance.kernel.replica import on_replica
from governance.reports import views

app_name = "reports"

urlpatterns = [
    path("", on_replica(views.index), name="index"),
    path("unit/<str:kind>/<str:code>/", on_replica(views.unit), name="unit"),
    path("supervision/", on_replica(views.supervision), name="supervision"),
    path("supervision/<str:code>/", views.supervision_notes, name="supervision-notes"),
    path("hotspots/", on_replica(views.hotspots), name="hotspots"),
    path("hotspots/repeats/", on_replica(views.hotspot_repeats), name="hotspot-repeats"),
    path("staffing/", on_replica(views.staffing), name="staffing"),
    path("visits/", on_replica(views.visits), name="visits"),
    path("map/", on_replica(views.map_page), name="map"),
    path("map/data/", on_replica(views.map_data), name="map-data"),
    path("map/density/", on_replica(views.map_density), name="map-density"),
    path("suggestions/", on_replica(views.suggestions), name="suggestions"),
]
