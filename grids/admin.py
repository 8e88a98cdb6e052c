from django.contrib import admin

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


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "urban_population")
    search_fields = ("code", "name")


@admin.register(Street)
class StreetAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "district", "urban_population")
    list_filter = ("district",)
    search_fields = ("code", "name")
    autocomplete_fields = ("district",)


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "street", "population", "urban_population")
    list_filter = ("street__district",)
    search_fields = ("code", "name")
    autocomplete_fields = ("street",)
    list_select_related = ("street",)


@admin.register(Grid)
class GridAdmin(admin.ModelAdmin):
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


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ("__str__", "building", "contact_name", "status", "care_tags")
    list_filter = ("status",)
    search_fields = ("building__address", "building__code", "contact_name", "phone", "room")
    autocomplete_fields = ("building",)
    list_select_related = ("building",)
    inlines = [ResidentInline]
    show_full_result_count = False


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
    readonly_fields = [f.name for f in HouseholdChange._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
