"""The staff inbox, at /notifications/ (governance/urls.py)."""

from django.urls import path

from governance.staff import views

urlpatterns = [
    path("", views.notifications, name="notifications"),
    path("<int:pk>/read/", views.notification_read, name="notification-read"),
    path("group/read/", views.notification_group_read, name="notification-group-read"),
    path("read-all/", views.notifications_read_all, name="notifications-read-all"),
    path("preferences/", views.notification_preferences, name="notification-preferences"),
]
