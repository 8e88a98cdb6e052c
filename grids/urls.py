from django.urls import path

from grids import map_views, views

urlpatterns = [
    path("", views.territory_root, name="territory-root"),
    path("map/boundaries/", map_views.boundaries, name="map-boundaries"),
    path("map/buildings/", map_views.buildings, name="map-buildings"),
    path("district/<str:code>/", views.unit_detail, {"level": "district"}, name="district-detail"),
    path("street/<str:code>/", views.unit_detail, {"level": "street"}, name="street-detail"),
    path("community/<str:code>/", views.unit_detail, {"level": "community"}, name="community-detail"),
    path("grid/<str:code>/", views.unit_detail, {"level": "grid"}, name="grid-detail"),
    path("building/<str:code>/", views.building_detail, name="building-detail"),
    path("building/<str:code>/households/new/", views.household_create, name="household-create"),
    path("household/<int:pk>/", views.household_detail, name="household-detail"),
    path("household/<int:pk>/edit/", views.household_edit, name="household-edit"),
    path("household/<int:pk>/move-out/", views.household_move_out, name="household-move-out"),
    path("household/<int:pk>/residents/new/", views.resident_edit, name="resident-create"),
    path("household/<int:pk>/residents/<int:resident_pk>/edit/", views.resident_edit, name="resident-edit"),
    path("household/<int:pk>/residents/<int:resident_pk>/remove/", views.resident_remove, name="resident-remove"),
]

from grids import io_views  # noqa: E402

urlpatterns += [
    path("<str:level>/<str:code>/import/", io_views.household_import, name="household-import"),
    path("<str:level>/<str:code>/export.xlsx", io_views.household_export, name="household-export"),
]
