"""Factories for appeals: categories of each kind and an appeal received through the
real intake service (so every appeal has its event history)."""

import factory

from appeals import services
from appeals.enums import CategoryType, DeadlineUnit, HandlingLevel, Source
from appeals.models import Category


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"99{n % 1000:03d}")
    class_name = "市容环境"
    name = factory.Sequence(lambda n: f"测试类别{n}")
    type = CategoryType.EVENT
    default_level = HandlingLevel.GRID
    response_hours = 24
    resolution_limit = 7
    resolution_unit = DeadlineUnit.WORKING_DAYS


def grid_category(**kw) -> Category:
    return CategoryFactory(code="01001", name="暴露垃圾", **kw)


def verified_category(**kw) -> Category:
    return CategoryFactory(code="01002", name="乱堆物料", needs_verification=True, **kw)


def community_category(**kw) -> Category:
    return CategoryFactory(code="05001", class_name="邻里纠纷", name="噪音扰民", default_level=HandlingLevel.COMMUNITY, **kw)


def street_category(**kw) -> Category:
    return CategoryFactory(code="02001", class_name="街面秩序", name="占道经营", default_level=HandlingLevel.STREET, **kw)


def component_department_category(**kw) -> Category:
    return CategoryFactory(
        code="03001", class_name="公用设施", name="井盖缺失", type=CategoryType.COMPONENT,
        default_level=HandlingLevel.DEPARTMENT, department_kind="CG", urgent=True,
        response_hours=1, resolution_limit=2, resolution_unit=DeadlineUnit.HOURS, **kw,
    )


def event_department_category(**kw) -> Category:
    return CategoryFactory(
        code="02002", class_name="街面秩序", name="违法建设", type=CategoryType.EVENT,
        default_level=HandlingLevel.DEPARTMENT, department_kind="CG", **kw,
    )


def receive(city, *, category=None, building=None, phone="13812345678", source=Source.WEB, **kw):
    """An appeal from the web form at ``building`` (default: 和平里1号楼 in grid A1)."""
    if building is None and not any(k in kw for k in ("grid", "community", "street")):
        building = city.building_a1
    return services.appeal_receive(
        source=source, category=category, building=building, description=kw.pop("description", "楼下垃圾堆放多日无人清理"),
        phone=phone, name=kw.pop("name", "王建国"), **kw,
    )
