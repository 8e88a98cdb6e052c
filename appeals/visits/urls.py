from django.urls import path

from appeals.visits import views

app_name = "visits"

urlpatterns = [
    path("", views.visit_list, name="list"),
    path("household/<int:pk>/", views.household_page, name="household"),
    path("household/<int:pk>/record/", views.visit_record, name="record"),
    path("<int:pk>/", views.visit_detail, name="detail"),
    path("<int:pk>/appeal/", views.visit_raise_appeal, name="raise"),
    path("<int:pk>/photos/<int:index>/", views.visit_photo, name="photo"),
]
