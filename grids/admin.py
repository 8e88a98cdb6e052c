from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Case, Value, When
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from governance.kernel.choices import KeysField, labels_text
from governance.staff.selectors import jurisdiction_for
from grids.boundaries import boundaries_import
from grids.enums import CareTag
from grids.models import (
    Building,
    Community,
    Department,
    District,
    Grid,
    Household,
    HouseholdChange,
    Organization,
    PartyOrganization,
    Resident,
    Street,
)


class BoundaryUploadForm(forms.Form):
    file = forms.FileField(label=_("GeoJSON 文件"), help_text=_(
        "FeatureCollection；每个要素的 properties.code 为区、街道、社区或网格编码，几何为 WGS-84/CGCS2000 经纬度的"
        " Polygon 或 MultiPolygon。文件中有任何错误则不导入。"))


class BoundaryAdmin(admin.ModelAdmin):
    """The units' lists link to the boundary upload (issue 21); the boundary itself is
    shown read-only (it changes only through an import)."""

    change_list_template = "admin/grids/boundary_change_list.html"
    readonly_fields = ("boundary", "min_lat", "min_lon", "max_lat", "max_lon")

    def get_urls(self):
        urls = super().get_urls()
        if self.model is not District:
            return urls
        view = self.admin_site.admin_view(self.boundaries_upload)
        return [path("boundaries/import/", view, name="grids_boundaries_import"), *urls]

    def boundaries_upload(self, request):
        if not request.user.has_perm("grids.change_grid"):
            raise PermissionDenied
        form = BoundaryUploadForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            report = boundaries_import(data=form.cleaned_data["file"].read())
            if report.ok:
                messages.success(request, report.summary())
                return redirect("admin:grids_district_changelist")
        return TemplateResponse(request, "admin/grids/boundaries_import.html", {
            **self.admin_site.each_context(request), "title": _("导入边界（GeoJSON）"), "form": form, "report": report,
            "opts": self.model._meta,
        })


@admin.register(District)
class DistrictAdmin(BoundaryAdmin):
    list_display = ("code", "name", "urban_population")
    search_fields = ("code", "name")


@admin.register(Street)
class StreetAdmin(BoundaryAdmin):
    list_display = ("code", "name", "district", "urban_population")
    list_filter = ("district",)
    search_fields = ("code", "name")
    autocomplete_fields = ("district",)


@admin.register(Community)
class CommunityAdmin(BoundaryAdmin):
    list_display = ("code", "name", "street", "population", "urban_population")
    list_filter = ("street__district",)
    search_fields = ("code", "name")
    autocomplete_fields = ("street",)
    list_select_related = ("street",)


@admin.register(Grid)
class GridAdmin(BoundaryAdmin):
    list_display = ("code", "name", "community")
    list_filter = ("community__street__district",)
    search_fields = ("code", "name", "community__name")
    autocomplete_fields = ("community",)
    list_select_related = ("community",)


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ("code", "address", "compound", "grid")
    list_filter = ("grid__community__street__district",)
    search_fields = ("code", "address", "compound")
    autocomplete_fields = ("grid",)
    list_select_related = ("grid",)


class ResidentInline(admin.TabularInline):
    model = Resident
    extra = 0


class HouseholdAdminForm(forms.ModelForm):
    care_tags = KeysField(label=_("关怀标签"), choices=CareTag.choices)

    class Meta:
        model = Household
        fields = "__all__"


class HouseholdAdminFormWithoutCare(forms.ModelForm):
    class Meta:
        model = Household
        exclude = ["care_tags"]


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    form = HouseholdAdminForm
    list_display = ("__str__", "building", "contact_name", "status", "care_tags_display")
    list_filter = ("status",)
    search_fields = ("building__address", "building__code", "contact_name", "phone", "room")
    autocomplete_fields = ("building",)
    list_select_related = ("building",)
    inlines = [ResidentInline]
    show_full_result_count = False

    # 关怀标签 are sensitive (PIPL): shown and edited here only where the account sees them
    # (Jurisdiction.sees_care — the grid's workers, the community's staff), "—" otherwise.
    def get_queryset(self, request):
        care_q = jurisdiction_for(request.user).care_code_q("building__code")
        return super().get_queryset(request).annotate(
            care_visible=Case(When(care_q, then=Value(True)), default=Value(False), output_field=BooleanField()))

    def get_form(self, request, obj=None, **kwargs):
        if obj is None or not jurisdiction_for(request.user).sees_care(obj.building.grid_id):
            kwargs["form"] = HouseholdAdminFormWithoutCare
        return super().get_form(request, obj, **kwargs)

    @admin.display(description=_("关怀标签"))
    def care_tags_display(self, household: Household) -> str:
        if not getattr(household, "care_visible", False):
            return "—"
        return labels_text(household.care_tags, CareTag.choices)


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = ("name", "household", "relation", "is_party_member")
    list_filter = ("is_party_member", "gender")
    search_fields = ("name", "phone")
    autocomplete_fields = ("household",)
    list_select_related = ("household",)
    show_full_result_count = False


@admin.register(PartyOrganization)
class PartyOrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "level", "parent", "secretary")
    list_filter = ("level",)
    search_fields = ("name", "secretary")
    autocomplete_fields = ("parent", "street", "community", "grid", "building", "household")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "district")
    list_filter = ("district",)
    search_fields = ("code", "name")
    autocomplete_fields = ("district",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "community", "contact_name")
    list_filter = ("kind",)
    search_fields = ("name", "contact_name")
    autocomplete_fields = ("community",)


@admin.register(HouseholdChange)
class HouseholdChangeAdmin(admin.ModelAdmin):
    list_display = ("household", "action", "resident_name", "actor", "created_at")
    list_filter = ("action",)
    search_fields = ("household__building__address", "resident_name")
    readonly_fields = [f.name for f in HouseholdChange._meta.fields] + ["changes_without_care"]

    def get_fields(self, request, obj=None):
        # A change of 关怀标签 is shown only to who sees the household's tags (Jurisdiction.sees_care).
        fields = [f.name for f in HouseholdChange._meta.fields]
        if obj is None or not jurisdiction_for(request.user).sees_care(obj.household.building.grid_id):
            fields[fields.index("changes")] = "changes_without_care"
        return fields

    @admin.display(description=_("变更"))
    def changes_without_care(self, change: HouseholdChange) -> dict:
        return {k: (v if k != "care_tags" else "——") for k, v in (change.changes or {}).items()}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
