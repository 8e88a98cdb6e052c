"""Factories and a fixed small city for the tests.

make_city() builds:
  district 110101 东城区
    street 110101001 甲街道
      community 110101001001 甲一社区 — grids …001 (A1), …002 (A2)
      community 110101001002 甲二社区 — grid …001 (B1)      (same street, other community)
    street 110101002 乙街道
      community 110101002001 乙一社区 — grid …001 (C1)      (other street)
  district 110102 西城区 (empty, other district)
  department 110101-CG 城管 of 东城区
and users: grid_worker (A1), grid_worker2 (A2), community_worker (甲一社区),
outsider (community worker of 乙一社区), street_officer (甲街道), supervisor (city-wide),
district_supervisor (东城区), department_handler (城管), volunteer (no post).
"""

from importlib import import_module
from types import SimpleNamespace

import factory
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model

from governance.enums import Role
from governance.models import Post
from grids.models import Building, Community, Department, District, Grid, Household, Resident, Street

User = get_user_model()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"工作人员{n}")
    password = factory.django.Password("pw-123456")


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    grid = None
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.grid.code}{n % 10000:04d}")
    address = factory.Sequence(lambda n: f"和平里{n}号楼")
    compound = "和平里小区"


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    building = None
    unit = "1"
    room = factory.Sequence(lambda n: f"{100 + n}")
    contact_name = factory.Sequence(lambda n: f"住户{n}")
    phone = factory.Sequence(lambda n: f"1380000{n % 10000:04d}")


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident

    household = None
    name = factory.Sequence(lambda n: f"居民{n}")
    phone = factory.Sequence(lambda n: f"1390000{n % 10000:04d}")


def default_visit_rules() -> None:
    """The home-visit rules the migration seeds, again: a transactional test (live server,
    browser) flushes every table when it ends, the migration's rows with them, so a later
    test in the same run would find no rule and owe no visit."""
    import_module("appeals.migrations.0015_home_visits").default_rules(django_apps, None)


def post(user, role: Role, **unit) -> Post:
    return Post.objects.create(user=user, role=role, **unit)


def make_city() -> SimpleNamespace:
    dongcheng = District.objects.create(code="110101", name="东城区")
    xicheng = District.objects.create(code="110102", name="西城区")
    street_a = Street.objects.create(district=dongcheng, code="110101001", name="甲街道")
    street_b = Street.objects.create(district=dongcheng, code="110101002", name="乙街道")
    comm_a = Community.objects.create(street=street_a, code="110101001001", name="甲一社区", population=8000)
    comm_a2 = Community.objects.create(street=street_a, code="110101001002", name="甲二社区", population=6000)
    comm_c = Community.objects.create(street=street_b, code="110101002001", name="乙一社区", population=5000)
    grid_a1 = Grid.objects.create(community=comm_a, code="110101001001001", name="第一网格")
    grid_a2 = Grid.objects.create(community=comm_a, code="110101001001002", name="第二网格")
    grid_b1 = Grid.objects.create(community=comm_a2, code="110101001002001", name="第一网格")
    grid_c1 = Grid.objects.create(community=comm_c, code="110101002001001", name="第一网格")
    building_a1 = BuildingFactory(grid=grid_a1, code=f"{grid_a1.code}0001", address="和平里1号楼")
    building_a2 = BuildingFactory(grid=grid_a2, code=f"{grid_a2.code}0001", address="和平里2号楼")
    building_b1 = BuildingFactory(grid=grid_b1, code=f"{grid_b1.code}0001", address="安定门3号楼")
    building_c1 = BuildingFactory(grid=grid_c1, code=f"{grid_c1.code}0001", address="交道口4号楼")
    household_a1 = HouseholdFactory(building=building_a1, room="101", contact_name="王建国", phone="13812345678", care_tags="elderly_alone")
    ResidentFactory(household=household_a1, name="王建国", phone="13812345678", relation="户主")
    household_a2 = HouseholdFactory(building=building_a2, room="202", contact_name="李秀英", phone="13900001111")
    household_b1 = HouseholdFactory(building=building_b1, room="303", contact_name="赵敏")
    household_c1 = HouseholdFactory(building=building_c1, room="404", contact_name="钱伟")
    chengguan = Department.objects.create(district=dongcheng, code="110101-CG", name="城管")

    users = SimpleNamespace(
        grid_worker=UserFactory(username="grid_worker"),
        grid_worker2=UserFactory(username="grid_worker2"),
        community_worker=UserFactory(username="community_worker"),
        outsider=UserFactory(username="outsider"),
        street_officer=UserFactory(username="street_officer"),
        supervisor=UserFactory(username="supervisor"),
        district_supervisor=UserFactory(username="district_supervisor"),
        department_handler=UserFactory(username="department_handler"),
        volunteer=UserFactory(username="volunteer"),
    )
    post(users.grid_worker, Role.GRID_WORKER, grid=grid_a1)
    post(users.grid_worker2, Role.GRID_WORKER, grid=grid_a2)
    post(users.community_worker, Role.COMMUNITY_WORKER, community=comm_a)
    post(users.outsider, Role.COMMUNITY_WORKER, community=comm_c)
    post(users.street_officer, Role.STREET_OFFICER, street=street_a)
    post(users.supervisor, Role.SUPERVISOR)
    post(users.district_supervisor, Role.SUPERVISOR, district=dongcheng)
    post(users.department_handler, Role.DEPARTMENT_HANDLER, department=chengguan)

    return SimpleNamespace(
        dongcheng=dongcheng, xicheng=xicheng, street_a=street_a, street_b=street_b,
        comm_a=comm_a, comm_a2=comm_a2, comm_c=comm_c,
        grid_a1=grid_a1, grid_a2=grid_a2, grid_b1=grid_b1, grid_c1=grid_c1,
        building_a1=building_a1, building_a2=building_a2, building_b1=building_b1, building_c1=building_c1,
        household_a1=household_a1, household_a2=household_a2, household_b1=household_b1, household_c1=household_c1,
        chengguan=chengguan, users=users,
    )
