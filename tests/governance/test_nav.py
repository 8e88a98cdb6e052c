"""Issue 19 §2: role-aware menus (governance/nav.py). Every link a role is shown answers
200 for that role; the pages a role may not use are not shown; each role lands on its home.

The browser crawl two levels deep is tests/governance/test_browser_nav.py."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from governance.nav import menu_links
from tests.access.world import build
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("grid_worker", "community_worker", "street_officer", "department_handler",
         "district_supervisor", "supervisor", "volunteer", "admin")


@pytest.fixture
def world(db):
    w = build()
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    return w


def _client(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _shown(html: str) -> set[str]:
    return set(re.findall(r'<a [^>]*href="([^"]+)"[^>]*data-nav="[^"]+"', html))


@pytest.mark.parametrize("role", ROLES)
def test_every_menu_link_answers_200(world, role):
    client = _client(role)
    user = get_user_model().objects.get(username=role)
    links = menu_links(user)
    assert links, role
    for label, url in links:
        response = client.get(url, follow=True)
        assert response.status_code == 200, (role, label, url, response.status_code)


def _urls(role: str) -> set[str]:
    return {url for _label, url in menu_links(get_user_model().objects.get(username=role))}


def test_menus_follow_the_views_rules(world):
    patrol, intake = "/appeals/patrol/", "/appeals/new/"
    volunteer_only = {"/volunteers/activities/", "/volunteers/points/", "/volunteers/hall/",
                      "/volunteers/my-appeals/", "/volunteers/rewards/"}
    # 网格巡查 only for grid workers; 代居民登记 only for the territorial handlers.
    assert patrol in _urls("grid_worker")
    for role in ROLES[1:]:
        assert patrol not in _urls(role), role
    for role in ("grid_worker", "community_worker", "street_officer"):
        assert intake in _urls(role), role
    for role in ("department_handler", "district_supervisor", "supervisor", "volunteer", "admin"):
        assert intake not in _urls(role), role
    # The volunteers' own pages only for volunteers; staff who are not volunteers see none.
    assert volunteer_only <= _urls("volunteer")
    for role in ROLES:
        if role != "volunteer":
            assert not (volunteer_only & _urls(role)), role
    # The volunteer: no staff queue, no 志愿服务统计 (staff only), no reports.
    volunteer = _urls("volunteer")
    assert "/appeals/" not in volunteer and "/volunteers/overview/" not in volunteer
    assert not any(u.startswith("/reports/") for u in volunteer)
    # A department handler has no territory, no reports and no 志愿服务 section.
    handler = _urls("department_handler")
    assert not any(u.startswith(("/reports/", "/volunteers/", "/territory/")) for u in handler), handler
    assert "/appeals/" in handler
    # Grid workers may read their grid's reports (governance.reports.scope).
    assert "/reports/" in _urls("grid_worker")
    assert "/admin/" in _urls("admin") and "/admin/" not in _urls("supervisor")


def test_the_menu_drawn_is_the_menu_defined(world):
    for role in ("grid_worker", "volunteer", "department_handler"):
        client = _client(role)
        response = client.get("/", follow=True)
        drawn = _shown(response.content.decode())
        assert drawn, role
        assert drawn <= _urls(role), (role, drawn - _urls(role))


def test_each_role_lands_on_its_home(world):
    volunteer = _client("volunteer").get("/")
    assert volunteer.status_code == 302 and volunteer["Location"] == "/volunteers/"
    page = _client("volunteer").get("/volunteers/").content.decode()
    assert "周敏" in page and "尚未分配岗位" not in page
    grid = _client("grid_worker").get("/").content.decode()
    assert 'data-shortcut="patrol"' in grid and "/appeals/patrol/" in grid
    for role in ("community_worker", "street_officer", "department_handler", "supervisor"):
        body = _client(role).get("/").content.decode()
        assert "尚未分配岗位" not in body and 'data-shortcut="patrol"' not in body, role
    # An account with neither a post nor a volunteer row is told what to do.
    UserFactory(username="nobody")
    nobody = _client("nobody").get("/", follow=True).content.decode()
    assert "尚未分配岗位" in nobody


def test_home_and_menu_queries(world, django_assert_max_num_queries):
    for role in ("grid_worker", "volunteer", "supervisor"):
        client = _client(role)
        client.get("/", follow=True)  # warm the session
        with django_assert_max_num_queries(16):
            assert client.get("/", follow=True).status_code == 200


def test_staff_who_volunteer_get_both(world):
    from volunteers import services as volunteer_services

    user = get_user_model().objects.get(username="department_handler")
    assert not any(u.startswith("/volunteers/") for u in _urls("department_handler"))
    volunteer_services.volunteer_register(community=world.city.comm_a, user=user, name="赵强")
    urls = _urls("department_handler")
    assert {"/volunteers/", "/volunteers/hall/", "/volunteers/points/"} <= urls
    assert "/volunteers/overview/" not in urls  # still not staff who see communities
    for url in ("/volunteers/hall/", "/volunteers/points/"):
        assert _client("department_handler").get(url).status_code == 200
