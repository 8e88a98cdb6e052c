"""The responsibility list is edited here; appeals and their history are read here
(appeals change only through the transition service)."""

from django.contrib import admin

from appeals.models import (
    Appeal,
    AppealAttachment,
    AppealCoHandler,
    AppealEvent,
    Category,
    ExtensionRequest,
    WorkdayOverride,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = (
        "code", "class_name", "name", "type", "default_level", "department_kind", "urgent",
        "needs_verification", "volunteer_suitable", "response_hours", "resolution_limit", "resolution_unit", "active",
    )
    list_filter = ("class_name", "type", "default_level", "urgent", "needs_verification", "volunteer_suitable",
                   "resolution_unit", "active")
    search_fields = ("code", "name", "class_name", "department_kind")
    list_editable = ("active",)
    ordering = ("code",)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AppealEventInline(_ReadOnlyInline):
    model = AppealEvent
    fields = ("created_at", "action", "actor_label", "actor", "from_state", "to_state", "note", "data")
    readonly_fields = fields


class AppealAttachmentInline(_ReadOnlyInline):
    model = AppealAttachment
    fields = ("kind", "image", "event", "created_at")
    readonly_fields = fields


class AppealCoHandlerInline(_ReadOnlyInline):
    model = AppealCoHandler
    fields = ("department", "summoned_by", "summoned_at", "checked_in_at", "note")
    readonly_fields = fields


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the services (transition table, event log): shown, never
    added, edited or deleted here."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Appeal)
class AppealAdmin(_ReadOnlyAdmin):
    """Read-only: a change made here would bypass the transition table and the event log."""

    list_display = ("tracking_code", "category", "state", "handling_level", "community", "deadline", "created_at")
    list_filter = ("state", "source", "handling_level", "escalation_level", "deferred", "flagged_for_supervisor",
                   "category__class_name")
    search_fields = ("tracking_code", "phone", "address_text", "description")
    date_hierarchy = "created_at"
    list_select_related = ("category", "community")
    inlines = [AppealEventInline, AppealCoHandlerInline, AppealAttachmentInline]


@admin.register(AppealEvent)
class AppealEventAdmin(_ReadOnlyAdmin):
    list_display = ("appeal", "action", "actor_label", "from_state", "to_state", "created_at")
    list_filter = ("action",)
    search_fields = ("appeal__tracking_code",)
    list_select_related = ("appeal",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(admin.ModelAdmin):
    list_display = ("date", "is_workday", "note")
    list_filter = ("is_workday",)
    search_fields = ("note",)
    date_hierarchy = "date"


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(_ReadOnlyAdmin):
    """Read-only: requests are decided through appeals.extensions (events, deadline, 缓办)."""

    list_display = ("appeal", "level", "state", "previous_deadline", "requested_deadline", "requested_by",
                    "decided_by", "created_at")
    list_filter = ("state", "level")
    search_fields = ("appeal__tracking_code",)
    list_select_related = ("appeal", "requested_by", "decided_by")
