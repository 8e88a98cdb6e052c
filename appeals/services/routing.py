"""Where automatic dispatch sends an appeal: the responsibility list and the place."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from appeals import catalog
from appeals.enums import CategoryType, HandlingLevel
from appeals.models import Appeal
from governance.kernel.errors import ApplicationError
from grids.models import UNIT_MODELS, Department


def department_for(*, kind: str, district_id: str | None) -> Department | None:
    """The department of ``kind`` (e.g. "CG") in the district: code "<district>-<kind>",
    from the process's cached copy of the departments (appeals.catalog; no query)."""
    if not kind or not district_id:
        return None
    return catalog.department_by_code(f"{district_id}-{kind}")


@dataclass(frozen=True)
class Route:
    unit: object | None  # Grid, Community, Street or Department; None: wait for dispatch by hand
    reason: str = ""
    cooperating: tuple[str, ...] = ()


def route_for(appeal: Appeal) -> Route:
    """Where automatic dispatch sends an appeal, by the responsibility list and the place.

    - Without a category, or without a precise place (a building, or a grid given by
      the worker on patrol), it waits for dispatch by hand.
    - Grid/community/street categories go to that unit of the appeal's place.
    - Department categories: the department is the one of the category's kind in the
      appeal's district. Owner vs. locality ("部件先属主、后属地；事件先属地、后属主"):
      a 部件 (public component) has an owner, the department, so it goes there first;
      an 事件 (event) goes to the locality first — the community, which can whistle the
      department in — with the department noted as cooperating; 服务/咨询 go to the
      department. No such department in the district: dispatch by hand.
    """
    category = appeal.category
    if category is None:
        return Route(None, _("未选择诉求类别"))
    if appeal.building_id is None and appeal.grid_id is None:
        return Route(None, _("地址为文字描述，需人工派单"))
    level = category.default_level
    if level == HandlingLevel.GRID:
        return Route(appeal.grid)
    if level == HandlingLevel.COMMUNITY:
        return Route(appeal.community)
    if level == HandlingLevel.STREET:
        return Route(appeal.street)
    department = department_for(kind=category.department_kind, district_id=appeal.district_id)
    if department is None:
        return Route(None, _("本区未设置该类别的责任部门，需人工派单"))
    if category.type == CategoryType.EVENT and appeal.community_id:
        return Route(appeal.community, _("事件先属地：由社区办理，责任部门协办"), (department.code,))
    return Route(department)


def unit_from_code(*, level: str, code: str):
    """A dispatch target from a (level, code) pair, e.g. from an API body or a form.

    level: grid | community | street | department; raises ApplicationError if unknown.
    """
    model = UNIT_MODELS.get(level) if level != HandlingLevel.DISTRICT else None
    unit = model.objects.filter(code=code).first() if model else None
    if unit is None:
        raise ApplicationError(_("找不到办理单位“%(code)s”。") % {"code": code})
    return unit
