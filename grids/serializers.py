"""Output of the territory API. Read-only: edits go through the pages and grids.services.

Every class has its own name: drf-spectacular names schema components after them.
Parent links are the parent's code (the foreign keys point at codes), so no list
needs a join to show where a unit sits.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.kernel.privacy import mask_phone
from governance.staff.selectors import jurisdiction_for
from grids.enums import CareTag
from grids.models import Building, Community, District, Grid, Household, Resident, Street


class DistrictOutputSerializer(serializers.ModelSerializer):
    street_count = serializers.IntegerField(source="child_count", read_only=True, help_text=_("街道数"))

    class Meta:
        model = District
        fields = ["code", "name", "street_count"]


class StreetOutputSerializer(serializers.ModelSerializer):
    district = serializers.CharField(source="district_id", read_only=True, help_text=_("所属区编码"))
    community_count = serializers.IntegerField(source="child_count", read_only=True, help_text=_("社区数"))

    class Meta:
        model = Street
        fields = ["code", "name", "district", "community_count"]


class CommunityOutputSerializer(serializers.ModelSerializer):
    street = serializers.CharField(source="street_id", read_only=True, help_text=_("所属街道编码"))
    grid_count = serializers.IntegerField(source="child_count", read_only=True, help_text=_("网格数"))

    class Meta:
        model = Community
        fields = ["code", "name", "street", "population", "grid_count"]


class GridOutputSerializer(serializers.ModelSerializer):
    community = serializers.CharField(source="community_id", read_only=True, help_text=_("所属社区编码"))
    building_count = serializers.IntegerField(source="child_count", read_only=True, help_text=_("楼栋数"))

    class Meta:
        model = Grid
        fields = ["code", "name", "community", "building_count"]


class BuildingOutputSerializer(serializers.ModelSerializer):
    grid = serializers.CharField(source="grid_id", read_only=True, help_text=_("所属网格编码"))
    household_count = serializers.IntegerField(source="child_count", read_only=True, help_text=_("在住住户数"))

    class Meta:
        model = Building
        fields = ["code", "address", "compound", "latitude", "longitude", "grid", "household_count"]


class _HouseholdFields(serializers.ModelSerializer):
    building = serializers.CharField(source="building.code", read_only=True, help_text=_("楼栋编码"))
    address = serializers.CharField(source="building.address", read_only=True, help_text=_("楼栋地址"))
    care_tags = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(
        child=serializers.ChoiceField(choices=CareTag.choices), allow_null=True,
        help_text=_("关怀标签：仅本网格网格员和本社区工作人员可见，其他账号为 null（个人信息保护法）")))
    def get_care_tags(self, household: Household) -> list[str] | None:
        request = self.context.get("request")
        if request is None or not jurisdiction_for(request.user).sees_care(household.building.grid_id):
            return None
        return household.care_tag_list


class HouseholdListOutputSerializer(_HouseholdFields):
    """A row of a list: the phone is masked (lists are read over shoulders and exported)."""

    phone = serializers.SerializerMethodField(help_text=_("脱敏后的联系电话"))
    resident_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Household
        fields = [
            "id", "building", "address", "unit", "room", "contact_name", "phone",
            "care_tags", "status", "moved_out_at", "resident_count",
        ]

    def get_phone(self, household: Household) -> str:
        return mask_phone(household.phone)


class HouseholdResidentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Resident
        fields = ["id", "name", "gender", "birth_year", "phone", "relation", "is_party_member"]


class HouseholdDetailOutputSerializer(_HouseholdFields):
    """One household with full phone numbers; every read of it is in the access log."""

    residents = HouseholdResidentOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Household
        fields = [
            "id", "building", "address", "unit", "room", "contact_name", "phone",
            "care_tags", "status", "moved_out_at", "created_at", "updated_at", "residents",
        ]
