from django.urls import path

from volunteers import views

app_name = "volunteers"

urlpatterns = [
    path("", views.home, name="home"),
    path("activities/", views.activity_list, name="activity-list"),
    path("activities/<int:pk>/", views.activity_detail, name="activity-detail"),
    path("activities/<int:pk>/signup/", views.activity_signup, name="activity-signup"),
    path("activities/<int:pk>/cancel-signup/", views.activity_signup_cancel, name="activity-signup-cancel"),
    path("activities/<int:pk>/check/", views.activity_self_check, name="activity-self-check"),
    path("checkin/<str:token>/", views.qr_checkin, name="qr-checkin"),
    path("points/", views.points, name="points"),
    path("rewards/", views.rewards, name="rewards"),
    path("rewards/<int:pk>/redeem/", views.reward_redeem, name="reward-redeem"),
    path("manage/", views.manage, name="manage"),
    path("manage/new/", views.activity_create, name="activity-create"),
    path("manage/<int:pk>/", views.manage_detail, name="manage-detail"),
    path("manage/<int:pk>/signups/<int:signup_pk>/check-in/", views.manage_attendance,
         {"direction": "in"}, name="manage-check-in"),
    path("manage/<int:pk>/signups/<int:signup_pk>/check-out/", views.manage_attendance,
         {"direction": "out"}, name="manage-check-out"),
    path("manage/<int:pk>/signups/<int:signup_pk>/correct/", views.manage_correct, name="manage-correct"),
    path("manage/<int:pk>/finish/", views.manage_status, {"action": "finish"}, name="manage-finish"),
    path("manage/<int:pk>/cancel/", views.manage_status, {"action": "cancel"}, name="manage-cancel"),
    path("manage/<int:pk>/qr/", views.manage_qr, name="manage-qr"),
    path("manage/<int:pk>/qr/svg/", views.manage_qr_svg, name="manage-qr-svg"),
    path("hall/", views.hall, name="hall"),
    path("hall/<str:code>/", views.hall_detail, name="hall-detail"),
    path("hall/<str:code>/claim/", views.hall_claim, name="hall-claim"),
    path("my-appeals/", views.my_appeals, name="my-appeals"),
    path("my-appeals/<str:code>/", views.my_appeal, name="my-appeal"),
    path("my-appeals/<str:code>/phone/", views.my_appeal_phone, name="my-appeal-phone"),
    path("my-appeals/<str:code>/contact/", views.my_appeal_act, {"action": "contact"}, name="my-appeal-contact"),
    path("my-appeals/<str:code>/note/", views.my_appeal_act, {"action": "note"}, name="my-appeal-note"),
    path("my-appeals/<str:code>/resolve/", views.my_appeal_act, {"action": "resolve"}, name="my-appeal-resolve"),
    path("overview/", views.overview, name="overview"),
    path("overview/members/", views.overview_members, name="overview-members"),
    path("overview/organizations/", views.overview_organizations, name="overview-organizations"),
]
