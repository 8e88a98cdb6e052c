from django.contrib import admin

from governance.models import AccessLog, Notification, Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "unit_name", "title")
    list_filter = ("role",)
    search_fields = ("user__username", "user__first_name", "title")
    autocomplete_fields = ("user", "district", "street", "community", "grid", "department")
    list_select_related = ("user", "district", "street", "community", "grid", "department")


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only: the log of personal-data access is append-only."""

    list_display = ("created_at", "user", "action", "subject", "record_count", "ip_address")
    list_filter = ("action",)
    search_fields = ("user__username", "subject")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AccessLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "title", "read_at", "email_pending", "emailed_at")
    list_filter = ("kind", "email_pending")
    search_fields = ("recipient__username", "title")
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request):
        return False
