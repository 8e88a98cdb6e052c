"""Territory and people (DESIGN.md §2).

Each level's parent link points at the parent's *code*, so that the rule "a child's
code starts with its parent's" is a database CHECK constraint rather than a hope.
"""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from governance.kernel import choices
from grids.enums import CareTag, Gender, HouseholdChangeAction, HouseholdStatus, OrganizationKind, PartyLevel


def _digits(n: int) -> RegexValidator:
    return RegexValidator(rf"^\d{{{n}}}$", _("编码须为 %(n)s 位数字。") % {"n": n})


def _code_constraints(model: str, length: int, parent: str | None) -> list[models.CheckConstraint]:
    checks = [
        models.CheckConstraint(
            condition=Q(code__regex=rf"^[0-9]{{{length}}}$"),
            name=f"{model}_code_{length}_digits",
        )
    ]
    if parent:
        checks.append(
            models.CheckConstraint(
                condition=Q(code__startswith=F(parent)),
                name=f"{model}_code_starts_with_{parent}",
            )
        )
    return checks


def _code(length: int, label=_("编码")) -> models.CharField:
    """A unit's code: ``length`` digits, unique; its parent's code is its prefix (_code_constraints)."""
    return models.CharField(label, max_length=length, unique=True, validators=[_digits(length)])


def _parent(model, field: str, related_name: str, label) -> models.ForeignKey:
    """The link to the unit above (a level's parent, a department's district): by that unit's
    code, in the column ``<field>_code``."""
    return models.ForeignKey(model, on_delete=models.PROTECT, to_field="code", db_column=f"{field}_code",
                             related_name=related_name, verbose_name=label)


class Bounded(models.Model):
    """A unit's boundary (issue 21): a GeoJSON Polygon or MultiPolygon in WGS-84/CGCS2000,
    stored as text exactly as imported (grids.boundaries), with its bounding box in four
    indexed columns, so that locating a point (grids.locate) asks SQL for the few units
    whose box holds it before testing their polygons. Empty: no boundary yet."""

    boundary = models.TextField(_("边界（GeoJSON）"), null=True, blank=True, editable=False)
    min_lat = models.FloatField(_("最小纬度"), null=True, blank=True, editable=False)
    min_lon = models.FloatField(_("最小经度"), null=True, blank=True, editable=False)
    max_lat = models.FloatField(_("最大纬度"), null=True, blank=True, editable=False)
    max_lon = models.FloatField(_("最大经度"), null=True, blank=True, editable=False)

    class Meta:
        abstract = True
        # A point (lat, lon) lies in the box when min_lat <= lat <= max_lat and the same for
        # longitudes: the range on min_lat leads, the other three are read from the index.
        indexes = [models.Index(fields=["min_lat", "max_lat", "min_lon", "max_lon"], name="%(class)s_bbox",
                                condition=Q(min_lat__isnull=False))]


class Unit(Bounded):
    """A level of the territory (区, 街道, 社区, 网格): bounded, in the order of its code,
    shown by its name. Its Meta extends this one (``class Meta(Unit.Meta)``)."""

    name = models.CharField(_("名称"), max_length=50)

    class Meta(Bounded.Meta):
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


def _urban_population(level: str):
    """城镇常住人口 of a unit, the denominator of the staffing ratio (DESIGN.md §5:
    每万城镇常住人口不少于18名社区工作者). Empty (or 0): no figure — the ratio reads
    "无数据"; a street's or district's empty figure is the sum of its units' when every
    one of them has one (governance.reports.staffing_selectors.staffing)."""
    return models.PositiveIntegerField(
        _("城镇常住人口"), null=True, blank=True,
        help_text=_("统计部门公布的%(level)s城镇常住人口，用于社区工作者配比（每万城镇常住人口社区工作者数）。"
                    "留空表示无数据；街道、区留空时按下级单位合计（下级均有数据时）。") % {"level": level},
    )


class District(Unit):
    code = _code(6, _("区划代码"))
    urban_population = _urban_population(_("本区"))

    class Meta(Unit.Meta):
        verbose_name = verbose_name_plural = _("区")
        constraints = _code_constraints("district", 6, None)


class Street(Unit):
    district = _parent(District, "district", "streets", _("区"))
    code = _code(9)
    urban_population = _urban_population(_("本街道"))

    class Meta(Unit.Meta):
        verbose_name = verbose_name_plural = _("街道")
        constraints = _code_constraints("street", 9, "district")


class Community(Unit):
    street = _parent(Street, "street", "communities", _("街道"))
    code = _code(12)
    population = models.PositiveIntegerField(
        _("常住人口"), default=0,
        help_text=_("社区登记的常住人口（演示数据为在册居民人数），显示在辖区概况中；"
                    "社区工作者配比不用它，而按“城镇常住人口”计算。"),
    )
    urban_population = _urban_population(_("本社区"))

    class Meta(Unit.Meta):
        verbose_name = verbose_name_plural = _("社区")
        constraints = _code_constraints("community", 12, "street")


class Grid(Unit):
    community = _parent(Community, "community", "grids", _("社区"))
    code = _code(15)

    class Meta(Unit.Meta):
        verbose_name = verbose_name_plural = _("网格")
        constraints = _code_constraints("grid", 15, "community")


class Building(models.Model):
    """A building (楼栋); its code is the grid's code plus four digits (Open311 address_id)."""

    grid = _parent(Grid, "grid", "buildings", _("网格"))
    code = _code(19, _("楼栋编码"))
    address = models.CharField(_("地址"), max_length=200)
    compound = models.CharField(_("小区"), max_length=100, blank=True)
    # WGS-84, as GPS and Open311 clients send it (DESIGN.md §2).
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("楼栋")
        ordering = ["code"]
        constraints = _code_constraints("building", 19, "grid")
        indexes = [
            models.Index(fields=["latitude", "longitude"], name="building_latlong"),
            # The submit page's search by 小区 name (a prefix, city-wide: appeals.public_selectors).
            models.Index(fields=["compound"], name="building_compound", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.address


class Household(models.Model):
    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="households", verbose_name=_("楼栋")
    )
    unit = models.CharField(_("单元"), max_length=20, blank=True)
    room = models.CharField(_("房号"), max_length=20)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    care_tags = models.CharField(
        _("关怀标签"), max_length=100, blank=True,
        help_text=_("逗号分隔：%(tags)s") % {"tags": ", ".join(CareTag.values)},
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=HouseholdStatus.choices, default=HouseholdStatus.ACTIVE
    )
    moved_out_at = models.DateField(_("迁出日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("住户")
        ordering = ["building_id", "unit", "room"]
        constraints = [
            models.UniqueConstraint(
                fields=["building", "unit", "room"], name="household_unique_room"
            ),
            models.CheckConstraint(
                condition=Q(status=HouseholdStatus.ACTIVE, moved_out_at__isnull=True)
                | Q(status=HouseholdStatus.MOVED_OUT, moved_out_at__isnull=False),
                name="household_moved_out_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["phone"], name="household_phone"),
            # The households with a visit plan (appeals.visits.selectors): a few among a
            # city's millions, which the visits report and the reminders read.
            models.Index(fields=["building"], name="household_care",
                         condition=Q(status=HouseholdStatus.ACTIVE) & ~Q(care_tags="")),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        unit = f"{self.unit}单元" if self.unit else ""
        return f"{unit}{self.room}"

    care_tag_list, care_tag_labels = choices.properties("care_tags", CareTag.choices)


class Resident(models.Model):
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="residents", verbose_name=_("住户")
    )
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("出生年份"), null=True, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    relation = models.CharField(_("与户主关系"), max_length=20, blank=True)
    is_party_member = models.BooleanField(_("党员"), default=False)

    class Meta:
        verbose_name = verbose_name_plural = _("居民")
        ordering = ["household_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["household", "name"], name="resident_unique_name"),
        ]
        indexes = [
            models.Index(fields=["name"], name="resident_name"),
            models.Index(fields=["phone"], name="resident_phone"),
        ]

    def __str__(self) -> str:
        return self.name


class PartyOrganization(models.Model):
    """The party overlay: each organisation is bound to the unit of its level."""

    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=12, choices=PartyLevel.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("上级党组织"),
    )
    street = models.ForeignKey(Street, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("街道"))
    community = models.ForeignKey(Community, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("社区"))
    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("网格"))
    building = models.ForeignKey(Building, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("楼栋"))
    household = models.ForeignKey(Household, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("住户"))
    secretary = models.CharField(_("书记/负责人"), max_length=50, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("党组织")
        ordering = ["level", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(level=PartyLevel.STREET_COMMITTEE, street__isnull=False, community__isnull=True, grid__isnull=True, building__isnull=True, household__isnull=True)
                    | Q(level=PartyLevel.COMMUNITY_COMMITTEE, street__isnull=True, community__isnull=False, grid__isnull=True, building__isnull=True, household__isnull=True)
                    | Q(level=PartyLevel.GRID_BRANCH, street__isnull=True, community__isnull=True, grid__isnull=False, building__isnull=True, household__isnull=True)
                    | Q(level=PartyLevel.BUILDING_GROUP, street__isnull=True, community__isnull=True, grid__isnull=True, building__isnull=False, household__isnull=True)
                    | Q(level=PartyLevel.CENTRAL_HOUSEHOLD, street__isnull=True, community__isnull=True, grid__isnull=True, building__isnull=True, household__isnull=False)
                ),
                name="party_org_bound_to_its_level",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """A functional department (职能部门) of a district."""

    district = _parent(District, "district", "departments", _("区"))
    code = models.CharField(_("编码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=50)

    class Meta:
        verbose_name = verbose_name_plural = _("职能部门")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__startswith=F("district")), name="department_code_starts_with_district"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    """A partner in a community (驻区单位/物业/业委会/社会组织, "五社联动")."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="organizations", verbose_name=_("社区")
    )
    kind = models.CharField(_("类型"), max_length=20, choices=OrganizationKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("共建单位")
        ordering = ["community_id", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="organization_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class HouseholdChange(models.Model):
    """Per-field change history of a household and its residents (kept forever)."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="changes", verbose_name=_("住户")
    )
    resident_name = models.CharField(_("居民"), max_length=50, blank=True)
    action = models.CharField(_("操作"), max_length=20, choices=HouseholdChangeAction.choices)
    changes = models.JSONField(_("变更"), default=dict, help_text=_("{字段: [原值, 新值]}"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    actor = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("操作人")
    )
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = _("住户变更记录")
        ordering = ["-created_at", "-id"]


# The units by level name — the same words as the handling levels, the assessment's unit
# kinds and the notifications' unit keys: "district", "street", "community", "grid",
# "department". One map, for every place that turns a level into a model or back.
UNIT_MODELS = {"district": District, "street": Street, "community": Community, "grid": Grid, "department": Department}
# A territorial code's level, from its length (DESIGN.md §2: each level adds 3 digits).
LEVEL_BY_LENGTH = {6: "district", 9: "street", 12: "community", 15: "grid"}


def unit_level(unit) -> str:
    """The level name of a unit instance (ValueError for anything else)."""
    for level, model in UNIT_MODELS.items():
        if isinstance(unit, model):
            return level
    raise ValueError(f"not a unit: {unit!r}")

