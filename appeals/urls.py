from django.urls import path

from appeals import map_views, views

app_name = "appeals"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.intake, name="intake"),
    path("patrol/", views.patrol, name="patrol"),
    path("map/", map_views.queue_map, name="map"),
    path("map/data/", map_views.queue_map_data, name="map-data"),
    path("buildings/", views.building_search, name="building-search"),
    path("extensions/", views.extension_list, name="extensions"),
    path("extensions/<int:pk>/<str:decision>/", views.extension_decide, name="extension-decide"),
    path("<str:code>/", views.appeal_detail, name="detail"),
    path("<str:code>/photos/<int:pk>/", views.appeal_photo, name="photo"),
    # 匿名: "拨打/显示号码" — the full phone, access-logged (appeals.selectors.resident_phone_reveal).
    path("<str:code>/phone/", views.appeal_phone_reveal, name="phone-reveal"),
    path("<str:code>/<str:action>/", views.appeal_action, name="action"),
]
