"""seed_demo builds a demo city that is whole, idempotent and usable by every demo account."""

import os
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from governance.demo import DEMO_PASSWORD, SIZES
from governance.demo.seed import demo_seed
from governance.demo.sizes import DemoSize
from governance.enums import Role
from governance.models import Post
from governance.staff.selectors import jurisdiction_for
from grids.enums import CareTag, OrganizationKind, PartyLevel
from grids.models import (
    Building,
    Community,
    Department,
    District,
    Grid,
    Household,
    Organization,
    PartyOrganization,
    Resident,
    Street,
)
from grids.selectors import scoped

User = get_user_model()

TINY = {
    "districts": 2, "streets_per_district": 1, "communities_per_street": 2,
    "grids_per_community": 2, "buildings_per_grid": 2, "households_per_building": 6,
}


def seed(**options):
    call_command("seed_demo", verbosity=0, no_progress=True, **options)


def every_table_count() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


@pytest.mark.django_db
def test_default_size_builds_every_level_the_party_overlay_and_partners():
    seed()
    size = SIZES["small"]
    assert_boundaries_hold_every_building(size)

    assert District.objects.count() == size.districts
    assert list(District.objects.values_list("code", "name")[:2]) == [("110101", "东城区"), ("110102", "西城区")]
    assert Street.objects.count() == size.districts * size.streets_per_district
    assert Community.objects.count() == size.communities
    assert Grid.objects.count() == size.grids
    assert Building.objects.count() == size.buildings
    assert Household.objects.count() == size.households
    assert Resident.objects.count() > size.households  # families, not only heads
    assert Resident.objects.filter(is_party_member=True).exists()
    for tag in CareTag.values:
        assert Household.objects.filter(care_tags__contains=tag).exists(), tag

    outside_beijing = Building.objects.exclude(
        latitude__range=(Decimal("39.85"), Decimal("40.00")), longitude__range=(Decimal("116.30"), Decimal("116.50"))
    )
    assert not outside_beijing.exists()
    assert not Building.objects.filter(compound="").exists()

    # The overlay: one organisation per unit, each under the one of the unit above.
    assert PartyOrganization.objects.filter(level=PartyLevel.STREET_COMMITTEE).count() == Street.objects.count()
    assert PartyOrganization.objects.filter(level=PartyLevel.COMMUNITY_COMMITTEE).count() == size.communities
    assert PartyOrganization.objects.filter(level=PartyLevel.GRID_BRANCH).count() == size.grids
    assert PartyOrganization.objects.filter(level=PartyLevel.BUILDING_GROUP).count() == size.buildings
    central = PartyOrganization.objects.filter(level=PartyLevel.CENTRAL_HOUSEHOLD).select_related(
        "household__building", "parent__building__grid", "parent__parent__grid__community",
        "parent__parent__parent__community__street", "parent__parent__parent__parent__street",
    )
    assert central.exists()
    for org in central:
        group = org.parent
        assert group.building == org.household.building
        assert group.parent.grid == group.building.grid
        assert group.parent.parent.community == group.parent.grid.community
        assert group.parent.parent.parent.street == group.parent.parent.community.street
        assert org.household.residents.filter(name=org.secretary, is_party_member=True).exists()

    for district in District.objects.all():
        codes = set(Department.objects.filter(district=district).values_list("code", flat=True))
        assert {f"{district.code}-{short}" for short in ("CG", "ZJ", "GA", "MZ", "WJ", "SF", "SJ", "SW")} <= codes
    assert set(Organization.objects.values_list("kind", flat=True)) == set(OrganizationKind.values)


@pytest.mark.django_db
def test_demo_accounts_have_the_right_posts_and_the_demo_password():
    seed(**TINY)
    community = Community.objects.order_by("code").first()
    grids = list(community.grids.order_by("code"))

    def only_post(username):
        (post,) = Post.objects.filter(user__username=username)
        return post

    assert community.code == "110101001001"
    assert (only_post("grid_worker").role, only_post("grid_worker").grid) == (Role.GRID_WORKER, grids[0])
    assert (only_post("grid_worker2").role, only_post("grid_worker2").grid) == (Role.GRID_WORKER, grids[1])
    assert (only_post("community_worker").role, only_post("community_worker").community) == (Role.COMMUNITY_WORKER, community)
    assert only_post("street_officer").street == community.street
    assert only_post("department_handler").department.code == "110101-CG"
    supervisor = only_post("supervisor")
    assert (supervisor.role, supervisor.district) == (Role.SUPERVISOR, None)
    assert not Post.objects.filter(user__username__in=["volunteer", "admin"]).exists()

    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    for user in User.objects.filter(username__in=["grid_worker", "volunteer", "admin", "supervisor"]):
        assert user.check_password(DEMO_PASSWORD), user.username
        assert user.first_name
    assert not User.objects.get(username="grid_worker").is_staff


@pytest.mark.django_db
def test_running_twice_changes_no_table_and_resets_the_passwords():
    seed(**TINY)
    counts = every_table_count()
    worker = User.objects.get(username="community_worker")
    worker.set_password("changed-by-someone")
    worker.save()

    seed(**TINY)

    assert every_table_count() == counts
    worker.refresh_from_db()
    assert worker.check_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_if_empty_leaves_a_populated_database_alone(city):
    counts = every_table_count()
    seed(if_empty=True)
    assert every_table_count() == counts
    assert not User.objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_if_empty_seeds_an_empty_database():
    seed(if_empty=True, **TINY)
    assert Community.objects.count() == 4


@pytest.mark.django_db
def test_demo_community_worker_sees_its_community_and_not_another():
    seed(**TINY)
    worker = User.objects.get(username="community_worker")
    jurisdiction = jurisdiction_for(worker)
    own, other = Community.objects.order_by("code")[:2]

    assert jurisdiction.covers(own.code)
    assert not jurisdiction.covers(other.code)
    visible = scoped(Household, jurisdiction)
    assert visible.count() == Household.objects.filter(building__grid__community=own).count() > 0
    assert not visible.filter(building__grid__community=other).exists()

    grid_worker = jurisdiction_for(User.objects.get(username="grid_worker"))
    first, second = own.grids.order_by("code")[:2]
    assert grid_worker.covers(first.code) and not grid_worker.covers(second.code)


@pytest.mark.django_db
def test_batched_inserts_build_the_same_city_with_a_tiny_batch_size():
    sizes = {**TINY, "districts": 1, "households_per_building": 23}
    seed(batch_size=7, **sizes)
    size = DemoSize(**sizes)

    assert Household.objects.count() == size.households
    for building in Building.objects.all():
        assert building.households.count() == 23
    # Every resident is bound to a household of this run: ids came back from each batch.
    assert not Resident.objects.filter(household__isnull=True).exists()
    assert PartyOrganization.objects.filter(level=PartyLevel.BUILDING_GROUP).count() == size.buildings

    seed(batch_size=7, **sizes)
    assert Household.objects.count() == size.households


@pytest.mark.django_db
def test_a_larger_size_adds_only_the_missing_communities():
    seed(**TINY)
    first = Community.objects.get(code="110101001001")
    households = first.grids.values_list("buildings__households", flat=True).count()

    seed(**{**TINY, "communities_per_street": 3})

    assert Community.objects.count() == 6
    assert Community.objects.get(code="110101001001").name == first.name
    assert first.grids.values_list("buildings__households", flat=True).count() == households


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"grids_per_community": 1}, "--grids-per-community 至少为 2"),
        ({"districts": 17}, "--districts 须在 1 到 16 之间"),
        ({"buildings_per_grid": 0}, "--buildings-per-grid 须在 1 到 9999 之间"),
        ({"batch_size": 0}, "--batch-size 须为正整数"),
    ],
)
@pytest.mark.django_db
def test_impossible_sizes_are_refused_with_a_reason(options, message):
    with pytest.raises(CommandError, match=message):
        seed(**options)
    assert not District.objects.exists()


seen_contexts = []


def record_step(context):
    seen_contexts.append(context)
    context.stdout.write("step ran")


class Writer:
    def __init__(self):
        self.text = []

    def write(self, text):
        self.text.append(text)


@pytest.mark.django_db
def test_demo_steps_run_in_order_with_a_context_and_missing_modules_are_skipped():
    seen_contexts.clear()
    writer = Writer()
    result = demo_seed(
        size=DemoSize(**TINY), batch_size=100, stdout=writer,
        steps=["appeals.no_such_demo_module.seed", "tests.governance.test_seed_demo.record_step"],
    )
    assert result.steps_missing == ["appeals.no_such_demo_module.seed"]
    assert result.steps_run == ["tests.governance.test_seed_demo.record_step"]
    (context,) = seen_contexts
    assert context.territory.community.code == "110101001001"
    assert [g.code for g in context.territory.grids[:2]] == ["110101001001001", "110101001001002"]
    assert context.territory.department.code == "110101-CG"
    assert context.accounts["grid_worker"].username == "grid_worker"
    assert context.fake.name()
    assert writer.text == ["step ran"]


@pytest.mark.django_db
def test_a_step_module_that_exists_but_lacks_the_function_is_an_error():
    with pytest.raises(ImportError):
        demo_seed(size=DemoSize(**TINY), batch_size=100, stdout=Writer(),
                  steps=["governance.demo.seed.no_such_function"])


@pytest.mark.django_db
def test_demo_banner_lists_the_addresses_and_the_accounts(capsys, monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    call_command("demo_banner")
    assert "seed_demo" in capsys.readouterr().out  # nothing seeded yet: says what to run

    seed(**TINY)
    call_command("demo_banner")
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/" in out
    assert "http://127.0.0.1:8123/accounts/login/" in out
    assert "http://127.0.0.1:8123/api/docs/" in out
    assert DEMO_PASSWORD in out
    community = Community.objects.get(code="110101001001")
    for username, role in [
        ("grid_worker", "网格员 (grid_worker)"), ("community_worker", "社区工作者 (community_worker)"),
        ("street_officer", "(street_officer)"), ("department_handler", "(department_handler)"),
        ("supervisor", "督查考核 (supervisor)"), ("volunteer", "(volunteer)"), ("admin", "(admin)"),
    ]:
        line = next(line for line in out.splitlines() if line.strip().startswith(username + " "))
        assert role in line
    assert community.name in out
    assert "东城区城市管理综合行政执法局" in out


@pytest.mark.parametrize(("port", "expected"), [(None, "8000"), ("9001", "9001")])
def test_make_run_starts_the_web_server_on_the_banners_port(port, expected, monkeypatch):
    """honcho gives the web process its --port as PORT; left to itself it picks 5000,
    and the banner would name an address nothing listens on."""
    import subprocess
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "PORT"}
    if port:
        env["PORT"] = port
    root = Path(__file__).resolve().parents[2]
    dry = subprocess.run(["make", "-n", "run"], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    honcho = next(line for line in dry.stdout.splitlines() if "honcho start" in line)
    assert honcho.endswith(f"--port {expected}"), honcho
    assert "web: python manage.py runserver 127.0.0.1:${PORT:-8000}" in (root / "Procfile").read_text()


def assert_boundaries_hold_every_building(size) -> None:
    """Issue 21: one Voronoi diagram of the buildings, cells united upward — every
    building inside its grid's polygon, each unit inside its parent, siblings apart.
    (Run on the default city of test_default_size_builds_every_level…: no second seed.)"""
    import shapely

    from grids import geo

    grids = {g.code: geo.load(g.boundary) for g in Grid.objects.all()}
    assert len(grids) == size.grids and all(s.is_valid and not s.is_empty for s in grids.values())
    for building in Building.objects.all():
        point = shapely.Point(float(building.longitude), float(building.latitude))
        assert grids[building.grid_id].contains(point), building.code
        assert not any(s.contains(point) for code, s in grids.items() if code != building.grid_id)
    for child_model, parent_model in ((Grid, Community), (Community, Street), (Street, District)):
        parents = {u.code: geo.load(u.boundary) for u in parent_model.objects.all()}
        for unit in child_model.objects.all():
            code = unit.code[:len(unit.code) - 3]
            assert parents[code].buffer(1e-7).contains(geo.load(unit.boundary)), unit.code
    # Siblings share edges, never area (within a square centimetre).
    communities = [geo.load(c.boundary) for c in Community.objects.order_by("code")]
    for i, a in enumerate(communities):
        for b in communities[i + 1:]:
            assert a.intersection(b).area < 1e-12
    # Grids are contiguous (one polygon each), not confetti.
    assert all(s.geom_type == "Polygon" for s in grids.values())
