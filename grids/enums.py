from django.db import models
from django.utils.translation import gettext_lazy as _


class CareTag(models.TextChoices):
    """Care tags on a household (关怀标签): who needs a visit first."""

    ELDERLY_ALONE = "elderly_alone", _("独居老人")
    SUBSISTENCE = "subsistence", _("低保")
    DISABILITY = "disability", _("残疾")
    KEY_CONCERN = "key_concern", _("重点关注")


class HouseholdStatus(models.TextChoices):
    ACTIVE = "active", _("在住")
    MOVED_OUT = "moved_out", _("已迁出")


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class PartyLevel(models.TextChoices):
    STREET_COMMITTEE = "street", _("街道党工委")
    COMMUNITY_COMMITTEE = "community", _("社区党委")
    GRID_BRANCH = "grid", _("网格党支部")
    BUILDING_GROUP = "building", _("楼栋党小组")
    CENTRAL_HOUSEHOLD = "household", _("党员中心户")


class OrganizationKind(models.TextChoices):
    RESIDENT_UNIT = "resident_unit", _("驻区单位")
    PROPERTY = "property", _("物业")
    OWNERS_COMMITTEE = "owners_committee", _("业委会")
    SOCIAL = "social", _("社会组织")


class HouseholdChangeAction(models.TextChoices):
    """What a household change record (grids.models.HouseholdChange) did."""

    CREATE = "create", _("登记")
    UPDATE = "update", _("修改")
    MOVE_OUT = "move_out", _("迁出")
    ADD_RESIDENT = "add_resident", _("新增居民")
    UPDATE_RESIDENT = "update_resident", _("修改居民")
    REMOVE_RESIDENT = "remove_resident", _("移除居民")
    IMPORT = "import", _("批量导入")
