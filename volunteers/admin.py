from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from governance.kernel.choices import KeysField, labels_text
from volunteers.enums import Skill
from volunteers.models import (
    Activity,
    PairedOrganization,
    PartyMemberRegistration,
    PointsEntry,
    Redemption,
    Reward,
    Signup,
    Volunteer,
)


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by the services: the admin shows them, never edits them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VolunteerAdminForm(forms.ModelForm):
    skills = KeysField(label=_("技能"), choices=Skill.choices)

    class Meta:
        model = Volunteer
        fields = "__all__"


@admin.register(Volunteer)
class VolunteerAdmin(admin.ModelAdmin):
    form = VolunteerAdminForm
    list_display = ["name", "community", "status", "skills_display", "points_balance", "joined_on", "user"]
    list_filter = ["status"]
    search_fields = ["name", "phone", "user__username"]
    raw_id_fields = ["user", "resident", "community"]
    readonly_fields = ["points_balance"]

    @admin.display(description=_("技能"))
    def skills_display(self, volunteer: Volunteer) -> str:
        return labels_text(volunteer.skills, Skill.choices)


@admin.register(PairedOrganization)
class PairedOrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "work_unit", "community", "reported_at", "active"]
    list_filter = ["active"]
    search_fields = ["name", "work_unit"]
    raw_id_fields = ["community"]


@admin.register(PartyMemberRegistration)
class PartyMemberRegistrationAdmin(admin.ModelAdmin):
    list_display = ["volunteer", "year", "community", "work_unit", "hours_target", "reported_at", "hours_done", "rating"]
    list_filter = ["year", "rating", "below_target"]
    search_fields = ["volunteer__name", "work_unit"]
    raw_id_fields = ["volunteer", "community", "organization"]
    readonly_fields = ["hours_done", "below_target", "rating", "evaluated_at"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["title", "community", "starts_at", "status", "signed_up_count", "capacity_max", "organiser"]
    list_filter = ["status"]
    search_fields = ["title", "place"]
    raw_id_fields = ["community", "organiser"]
    readonly_fields = ["signed_up_count"]


@admin.register(Signup)
class SignupAdmin(_ReadOnlyAdmin):
    list_display = ["activity", "volunteer", "status", "checked_in_at", "checked_out_at", "minutes_credited"]
    list_filter = ["status"]
    search_fields = ["volunteer__name", "activity__title"]


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["name", "cost", "stock", "community", "active"]
    list_filter = ["active"]
    search_fields = ["name"]
    raw_id_fields = ["community"]


@admin.register(Redemption)
class RedemptionAdmin(_ReadOnlyAdmin):
    list_display = ["volunteer", "reward", "cost", "created_at"]
    search_fields = ["volunteer__name", "reward__name"]


@admin.register(PointsEntry)
class PointsEntryAdmin(_ReadOnlyAdmin):
    """The ledger is append-only: corrections are new rows (volunteers.services.points_adjust)."""

    list_display = ["created_at", "volunteer", "delta", "accrued", "balance_after", "kind", "source", "note"]
    list_filter = ["kind", "source"]
    search_fields = ["volunteer__name", "appeal_code", "note"]
