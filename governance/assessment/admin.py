from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from governance.assessment import services
from governance.assessment.enums import ExclusionStatus
from governance.assessment.models import DailyTally, MonthlyScore, ScoreExclusion
from governance.kernel.errors import ApplicationError


def _decide(modeladmin, request, queryset, *, approve: bool) -> None:
    done, refused = 0, []
    for exclusion in queryset.select_related("appeal").filter(status=ExclusionStatus.PENDING):
        try:
            services.exclusion_decide(actor=request.user, exclusion=exclusion, approve=approve)
            done += 1
        except ApplicationError as exc:
            refused.append(f"{exclusion.appeal}: {exc.message}")
    if done:
        modeladmin.message_user(request, _("已处理 %(n)s 条核减申请。") % {"n": done}, messages.SUCCESS)
    for reason in refused:
        modeladmin.message_user(request, reason, messages.WARNING)


@admin.register(ScoreExclusion)
class ScoreExclusionAdmin(admin.ModelAdmin):
    """Requests are approved or rejected by the action (street officers of the appeal's
    street, or administrators): the decision goes through the service's checks."""

    list_display = ("appeal", "reason_kind", "status", "requested_by", "requested_at", "approved_by", "approved_at")
    list_filter = ("status", "reason_kind")
    search_fields = ("appeal__tracking_code", "reason")
    raw_id_fields = ("appeal",)
    readonly_fields = ("status", "requested_by", "requested_at", "approved_by", "approved_at", "decision_note")
    actions = ["approve", "reject"]
    date_hierarchy = "requested_at"

    def get_readonly_fields(self, request, obj=None):
        # The request itself is kept as filed (the reason is part of the record).
        if obj is not None:
            return (*self.readonly_fields, "appeal", "reason_kind", "reason")
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.requested_by = request.user
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_l("批准所选核减申请"))
    def approve(self, request, queryset):
        _decide(self, request, queryset, approve=True)

    @admin.action(description=_l("驳回所选核减申请"))
    def reject(self, request, queryset):
        _decide(self, request, queryset, approve=False)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonthlyScore)
class MonthlyScoreAdmin(_ReadOnly):
    """Computed by governance.assessment.services; read-only here."""

    list_display = (
        "month", "unit_kind", "unit_code", "unit_name", "due", "resolved", "closure_rate", "on_time_rate",
        "response_rate", "resolution_rate", "satisfaction_rate", "composite", "kept_in_grid_rate",
        "kept_in_community_rate", "self_found", "rank", "peer_count", "final",
    )
    list_filter = ("unit_kind", "final", "month")
    search_fields = ("unit_code", "unit_name")


@admin.register(DailyTally)
class DailyTallyAdmin(_ReadOnly):
    list_display = ("day", "unit_kind", "unit_code", "due", "resolved", "resolved_on_time", "evaluated", "excluded")
    list_filter = ("unit_kind",)
    search_fields = ("unit_code",)
    date_hierarchy = "day"
