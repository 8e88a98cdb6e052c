"""appeals.catalog: the responsibility list, the departments and the workday overrides
cached per process, and how a change reaches every process."""

import pytest
from django.core.cache import cache
from django.core.signals import got_request_exception
from rest_framework.test import APIClient

from appeals import catalog
from appeals.enums import AppealState, CategoryType, HandlingLevel
from appeals.models import Category
from grids.models import Department
from tests.appeals.factories import CategoryFactory, component_department_category, grid_category, receive

pytestmark = pytest.mark.django_db
S = AppealState


def _post(city, category: str, phone: str):
    body = {"category": category, "building": city.building_a1.code, "description": "井盖缺失", "phone": phone}
    return APIClient().post("/api/v1/appeals/", body, format="json")


def test_a_category_switched_off_by_an_admin_is_refused_at_once(city):
    category = grid_category()
    assert _post(city, "01001", "13800000001").status_code == 201
    category.active = False
    category.save()
    refused = _post(city, "01001", "13800000002")
    assert refused.status_code == 400 and "已停用" in refused.json()["detail"]
    assert _post(city, "99999", "13800000003").json()["category"] == ["找不到编码为“99999”的诉求类别。"]


def test_a_new_department_is_routed_to_at_once(city):
    category = CategoryFactory(code="03009", class_name="公用设施", name="供水管道", type=CategoryType.COMPONENT,
                               default_level=HandlingLevel.DEPARTMENT, department_kind="SW")
    first = receive(city, category=category)
    assert first.state == S.RECEIVED and "责任部门" in first.events.get().data["route"]
    water = Department.objects.create(district_id="110101", code="110101-SW", name="水务局")
    second = receive(city, category=category)
    assert (second.state, second.handling_level, second.handling_department) == (
        S.DISPATCHED, HandlingLevel.DEPARTMENT, water)


def test_another_process_change_is_seen_through_the_token(city, django_capture_on_commit_callbacks):
    grid_category()
    assert catalog.category_by_code("01001").name == "暴露垃圾"
    # Another process changes the row and, after its commit, writes a new token.
    Category.objects.filter(code="01001").update(name="暴露垃圾（改）")  # no signal in this process
    assert catalog.category_by_code("01001").name == "暴露垃圾"  # cached until the token changes
    cache.set(catalog.TOKEN_KEY, "another-process-token", timeout=None)
    assert catalog.category_by_code("01001").name == "暴露垃圾（改）"
    # A save here writes a new token after the commit, for the other processes.
    with django_capture_on_commit_callbacks(execute=True):
        Category.objects.get(code="01001").save()
    assert cache.get(catalog.TOKEN_KEY) not in (None, "another-process-token")


def test_a_cleared_cache_or_an_old_snapshot_is_reloaded(city, monkeypatch):
    grid_category()
    assert catalog.category_by_code("01001") is not None
    Category.objects.filter(code="01001").update(name="改名")
    cache.delete(catalog.TOKEN_KEY)
    assert catalog.category_by_code("01001").name == "改名"
    Category.objects.filter(code="01001").update(name="再改名")  # e.g. a bulk write: no signal, no token
    monkeypatch.setattr(catalog, "CATALOG_MAX_AGE", -1)
    assert catalog.category_by_code("01001").name == "再改名"


def test_the_token_is_read_once_per_request_and_on_every_use_outside(city, monkeypatch):
    component_department_category()  # the category, its department and the deadline's overrides
    reads = []
    shared_token = catalog._shared_token
    monkeypatch.setattr(catalog, "_shared_token", lambda: reads.append(1) or shared_token())
    assert _post(city, "03001", "13800000001").status_code == 201
    assert len(reads) == 1
    reads.clear()
    catalog.category_by_code("03001")
    catalog.department_by_code("110101-CG")
    assert len(reads) == 2


def test_without_the_cache_the_tables_are_read(city, monkeypatch):
    grid_category()

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", down)
    assert catalog.category_by_code("01001").name == "暴露垃圾"
    assert catalog.department_by_code("110101-CG") == city.chengguan


def test_a_request_that_raises_leaves_no_check_behind(city):
    grid_category()
    catalog._request_started()
    assert catalog.category_by_code("01001").name == "暴露垃圾"
    got_request_exception.send(sender=None, request=None)  # request_finished may never come
    Category.objects.filter(code="01001").update(name="改名")
    cache.set(catalog.TOKEN_KEY, "another-process-token", timeout=None)
    assert catalog.category_by_code("01001").name == "改名"
