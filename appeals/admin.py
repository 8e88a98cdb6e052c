"""The responsibility list is edited here; appeals and their history are read here
(appeals change only through the transition service)."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appeals.models import (
    Appeal,
    AppealAttachment,
    AppealCoHandler,
    AppealEvent,
    ArchivedYear,
    CalendarDay,
    CalendarYear,
    Category,
    CategoryModel,
    CategorySuggestion,
    ExtensionRequest,
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


@admin.register(CategoryModel)
class CategoryModelAdmin(_ReadOnlyAdmin):
    """智能分拨's trainings (appeals.suggest.services.model_train): figures only, never the bytes."""

    list_display = ("version", "created_at", "active", "training_size", "appeals_size", "holdout_size", "top1", "top3",
                    "previous_top1", "seconds", "size_bytes")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "blob"]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("blob")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CategorySuggestion)
class CategorySuggestionAdmin(_ReadOnlyAdmin):
    list_display = ("appeal", "place", "model_version", "shown", "chosen", "accepted", "rank", "created_at")
    list_filter = ("place", "accepted")
    search_fields = ("appeal__tracking_code",)
    list_select_related = ("appeal",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AppealEvent)
class AppealEventAdmin(_ReadOnlyAdmin):
    list_display = ("appeal", "action", "actor_label", "from_state", "to_state", "created_at")
    list_filter = ("action",)
    search_fields = ("appeal__tracking_code",)
    list_select_related = ("appeal",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """The days entered by hand: the State Council's schedule (国办通知) once published, and
    local adjustments. Saving or deleting one re-computes its year's open deadlines."""

    list_display = ("date", "weekday", "is_workday", "name", "source", "note")
    list_filter = ("source", "is_workday")
    search_fields = ("name", "note")
    date_hierarchy = "date"
    change_list_template = "admin/appeals/calendar_change_list.html"

    @admin.display(description=gettext_lazy("星期"))
    def weekday(self, obj):
        from appeals.workdays import weekday_name

        return weekday_name(obj.date)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    """Whether a year's official schedule is entered. Until then a year the
    chinesecalendar library does not cover is computed from the law (provisional)."""

    list_display = ("year", "status", "official_entered", "entered_at", "entered_by", "recompute_requested_at",
                    "recomputed_at")
    fields = ("year", "official_entered", "entered_at", "entered_by", "recompute_requested_at", "recompute_reason",
              "recomputed_at")
    readonly_fields = ("entered_at", "entered_by", "recompute_requested_at", "recompute_reason", "recomputed_at")
    actions = ["mark_official"]
    change_list_template = "admin/appeals/calendar_change_list.html"

    @admin.display(description=gettext_lazy("日历状态"))
    def status(self, obj):
        from appeals.workdays import is_provisional, library_covers

        if library_covers(obj.year):
            return _("国办通知（chinesecalendar）")
        if not is_provisional(obj.year, official_years=frozenset({obj.year} if obj.official_entered else ())):
            return _("国办通知（已录入）")
        return _("暂定：按法定假日推算")

    def save_model(self, request, obj, form, change):
        if "official_entered" in form.changed_data:
            obj.entered_at = timezone.now() if obj.official_entered else None
            obj.entered_by = request.user if obj.official_entered else None
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("标记为已录入国办通知（重算该年未办结诉求的时限）"))
    def mark_official(self, request, queryset):
        marked = 0
        for year in queryset.filter(official_entered=False):
            year.official_entered, year.entered_at, year.entered_by = True, timezone.now(), request.user
            year.save()  # the signal re-computes the year's deadlines after the commit
            marked += 1
        self.message_user(request, _("已标记 %(n)s 个年份，相关时限将在后台重新计算。") % {"n": marked}, messages.SUCCESS)


@admin.register(ArchivedYear)
class ArchivedYearAdmin(_ReadOnlyAdmin):
    """Written by manage.py archive_year (appeals.archive, docs/OPERATIONS.md)."""

    list_display = ("year", "appeals", "events", "archived_at")


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(_ReadOnlyAdmin):
    """Read-only: requests are decided through appeals.extensions (events, deadline, 缓办)."""

    list_display = ("appeal", "level", "state", "previous_deadline", "requested_deadline", "requested_by",
                    "decided_by", "created_at")
    list_filter = ("state", "level")
    search_fields = ("appeal__tracking_code",)
    list_select_related = ("appeal", "requested_by", "decided_by")


# 入户走访 (issue 22): the visit frequency per care tag is a setting the admin edits. The
# visits themselves are not listed here: visit records are sensitive personal information,
# shown only to the grid's workers and the community's staff (appeals.visits.selectors).
from appeals.visits.models import VisitRule  # noqa: E402


@admin.register(VisitRule)
class VisitRuleAdmin(admin.ModelAdmin):
    list_display = ("care_tag", "period", "phone_counts", "category")
    list_editable = ("period", "phone_counts")
    autocomplete_fields = ()
