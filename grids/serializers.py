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


def _unit_serializer(model, fields: list[str], count: tuple[str, str], parent: tuple[str, str] | None = None):
    """The output of one territory level (区 … 楼栋), ``fields`` in their order: the parent's
    code (``parent``: its field's name and help) and how many children the unit has
    (``count``: read from ``child_count``, annotated by grids.selectors) among them."""
    attrs = {"__module__": __name__, "Meta": type("Meta", (), {"model": model, "fields": fields})}
    if parent:
        attrs[parent[0]] = serializers.CharField(source=f"{parent[0]}_id", read_only=True, help_text=parent[1])
    attrs[count[0]] = serializers.IntegerField(source="child_count", read_only=True, help_text=count[1])
    return type(f"{model.__name__}OutputSerializer", (serializers.ModelSerializer,), attrs)


DistrictOutputSerializer = _unit_serializer(District, ["code", "name", "street_count"], ("street_count", _("街道数")))
StreetOutputSerializer = _unit_serializer(
    Street, ["code", "name", "district", "community_count"],
    ("community_count", _("社区数")), parent=("district", _("所属区编码")))
CommunityOutputSerializer = _unit_serializer(
    Community, ["code", "name", "street", "population", "grid_count"],
    ("grid_count", _("网格数")), parent=("street", _("所属街道编码")))
GridOutputSerializer = _unit_serializer(
    Grid, ["code", "name", "community", "building_count"],
    ("building_count", _("楼栋数")), parent=("community", _("所属社区编码")))
BuildingOutputSerializer = _unit_serializer(
    Building, ["code", "address", "compound", "latitude", "longitude", "grid", "household_count"],
    ("household_count", _("在住住户数")), parent=("grid", _("所属网格编码")))


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
