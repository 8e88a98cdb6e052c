from django.urls import path

from appeals.deliberation import views

app_name = "deliberation"

urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("new/", views.meeting_create, name="create"),
    path("<int:pk>/", views.meeting_detail, name="detail"),
    path("<int:pk>/link/", views.meeting_link, name="link"),
    path("<int:pk>/record/", views.meeting_record, name="record"),
    path("<int:pk>/decisions/", views.decision_add, name="decision-add"),
    path("<int:pk>/decisions/<int:decision_pk>/", views.decision_update, name="decision-update"),
]
