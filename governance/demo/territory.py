"""The demo city's territory, people, party overlay, departments and partners.

Built one community at a time, each in its own transaction: a community is either
wholly there or absent, so a run that finds a community's code already in the
database skips it (idempotent), and memory holds one community's rows at most, even
when the city has millions of households. Every community draws from a random
generator seeded by its own code, so its content never depends on what else is built.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection, reset_queries, transaction

from governance.demo.layout import CityLayout
from governance.demo.names import (
    BEIJING_DISTRICTS,
    RESIDENT_UNITS,
    SOCIAL_ORGANIZATIONS,
    NamePools,
    chinese_number,
    landline,
    mobile,
    unique_pick,
)
from governance.demo.sizes import DemoSize
from grids.boundaries import boundaries_from_buildings
from grids.enums import CareTag, Gender, HouseholdStatus, OrganizationKind, PartyLevel
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

# Each district's departments: code suffix, short name (as staff say it), full name.
DEPARTMENTS = [
    ("CG", "城管", "城市管理综合行政执法局"),
    ("ZJ", "住建", "住房和城乡建设委员会"),
    ("GA", "公安", "公安分局"),
    ("MZ", "民政", "民政局"),
    ("WJ", "卫健", "卫生健康委员会"),
    ("SF", "司法", "司法局"),
    ("SJ", "市场监管", "市场监督管理局"),
    ("SW", "水务", "水务局"),
    ("ST", "生态环境", "生态环境局"),
    ("YL", "园林绿化", "园林绿化局"),
    ("JY", "教育", "教育委员会"),
]

SEED = "gongzhi-demo"


def department_code(district_code: str, short: str) -> str:
    return f"{district_code}-{short}"


def bulk_insert(model, objs: list, *, batch_size: int) -> list:
    """Insert in batches and keep the new primary keys (later rows point at them).

    PostgreSQL and SQLite ≥ 3.35 return the keys from a bulk insert; an older SQLite
    falls back to one INSERT per row rather than guessing ids.
    """
    if not objs:
        return objs
    if connection.features.can_return_rows_from_bulk_insert:
        return model.objects.bulk_create(objs, batch_size=batch_size)
    for obj in objs:
        obj.save(force_insert=True)
    return objs


@dataclass
class TerritoryReport:
    communities_built: int = 0
    communities_skipped: int = 0


def districts_ensure(size: DemoSize) -> list[District]:
    wanted = BEIJING_DISTRICTS[: size.districts]
    District.objects.bulk_create(
        [District(code=code, name=name) for code, name in wanted], ignore_conflicts=True
    )
    return list(District.objects.filter(code__in=[code for code, _ in wanted]).order_by("code"))


def departments_ensure(district: District) -> None:
    Department.objects.bulk_create(
        [
            Department(district=district, code=department_code(district.code, short), name=f"{district.name}{full}")
            for short, _short_name, full in DEPARTMENTS
        ],
        ignore_conflicts=True,
    )


def streets_ensure(district: District, count: int, pools: NamePools) -> list[Street]:
    """The district's first ``count`` streets, each with its 街道党工委."""
    rng = random.Random(f"{SEED}:{district.code}")
    taken: set[str] = set()
    streets = []
    for index in range(1, count + 1):
        name = unique_pick(rng, lambda r, i=index: pools.street_name(r, district.code, i), taken)
        streets.append(Street(district=district, code=f"{district.code}{index:03d}", name=name))
    Street.objects.bulk_create(streets, ignore_conflicts=True)
    streets = list(Street.objects.filter(code__in=[s.code for s in streets]).order_by("code"))

    with_committee = set(
        PartyOrganization.objects.filter(level=PartyLevel.STREET_COMMITTEE, street__in=streets)
        .values_list("street_id", flat=True)
    )
    PartyOrganization.objects.bulk_create([
        PartyOrganization(
            level=PartyLevel.STREET_COMMITTEE, street=street, name=f"{district.name}{street.name}党工委",
            secretary=pools.person(random.Random(f"{SEED}:{street.code}:secretary"), gender=rng.choice("MF")),
        )
        for street in streets if street.pk not in with_committee
    ])
    return streets


def demo_layout(size: DemoSize) -> CityLayout:
    """Where the demo city's units lie (governance.demo.layout): one layout per size."""
    counts = {6: size.streets_per_district, 9: size.communities_per_street, 12: size.grids_per_community}
    return CityLayout(seed=SEED, district_codes=[code for code, _name in BEIJING_DISTRICTS[: size.districts]],
                      count=lambda code: counts[len(code)], communities=size.communities)


def boundaries_drawn(size: DemoSize) -> None:
    """Boundaries drawn from the buildings (issue 21): again whenever a grid lacks one."""
    if Grid.objects.filter(boundary__isnull=True, buildings__latitude__isnull=False).exists():
        boundaries_from_buildings(clip=demo_layout(size).outline)


# The territory's rows, counted for seed_demo's summary (governance.demo.seed), in the order shown.
TERRITORY_COUNTED = [
    ("区", lambda: District.objects.count()),
    ("街道", lambda: Street.objects.count()),
    ("社区", lambda: Community.objects.count()),
    ("网格", lambda: Grid.objects.count()),
    ("楼栋", lambda: Building.objects.count()),
    ("住户", lambda: Household.objects.count()),
    ("居民", lambda: Resident.objects.count()),
    ("党员", lambda: Resident.objects.filter(is_party_member=True).count()),
    ("党组织", lambda: PartyOrganization.objects.count()),
    ("党员中心户", lambda: PartyOrganization.objects.filter(level=PartyLevel.CENTRAL_HOUSEHOLD).count()),
    ("职能部门", lambda: Department.objects.count()),
    ("共建单位", lambda: Organization.objects.count()),
]


def territory_build(
    *, size: DemoSize, pools: NamePools, batch_size: int, on_community: Callable[[int], None] = lambda n: None
) -> TerritoryReport:
    """Build what is missing of a city of ``size``.

    Steps: 1. districts and their departments; 2. streets with their 街道党工委;
    3. each community not yet present, in its own transaction, with everything below
    it. ``on_community`` hears the number of households of each community handled
    (0 when skipped), for a progress bar.
    """
    report = TerritoryReport()
    layout = demo_layout(size)
    for district in districts_ensure(size):
        departments_ensure(district)
        for street in streets_ensure(district, size.streets_per_district, pools):
            committee = PartyOrganization.objects.get(level=PartyLevel.STREET_COMMITTEE, street=street)
            existing = set(Community.objects.filter(street=street).values_list("code", flat=True))
            taken = set(Community.objects.filter(street=street).values_list("name", flat=True))
            for index in range(1, size.communities_per_street + 1):
                code = f"{street.code}{index:03d}"
                if code in existing:
                    report.communities_skipped += 1
                    on_community(0)
                    continue
                builder = CommunityBuilder(
                    district=district, street=street, street_committee=committee, code=code,
                    size=size, pools=pools, taken_names=taken, layout=layout,
                )
                households = builder.save(batch_size=batch_size)
                layout.forget(code)
                # Under DEBUG (make run) Django keeps every SQL string; bulk inserts are big.
                reset_queries()
                report.communities_built += 1
                on_community(households)
    return report


class CommunityBuilder:
    """One community and everything in it, generated in memory, then saved in bulk."""

    def __init__(
        self, *, district: District, street: Street, street_committee: PartyOrganization, code: str,
        size: DemoSize, pools: NamePools, taken_names: set[str], layout: CityLayout,
    ) -> None:
        self.district, self.street, self.street_committee = district, street, street_committee
        self.size, self.pools = size, pools
        self.layout = layout
        self.taken_points: set = set()
        self.rng = random.Random(f"{SEED}:{code}")
        self.this_year = date.today().year
        name = unique_pick(self.rng, pools.community_name, taken_names)
        self.community = Community(street=street, code=code, name=name)
        self.compound_names: set[str] = set()
        self.compounds: list[str] = []
        self.grids: list[Grid] = []
        self.buildings: list[tuple[Grid, Building]] = []
        # (building, household, [residents], central party member name or "")
        self.households: list[tuple[Building, Household, list[Resident], str]] = []

    # --- generation -----------------------------------------------------------------

    def generate(self) -> None:
        for g in range(1, self.size.grids_per_community + 1):
            grid = Grid(community=self.community, code=f"{self.community.code}{g:03d}", name=f"第{chinese_number(g)}网格")
            self.grids.append(grid)
            # A grid covers one or two compounds (号院), each on a road, buildings numbered within.
            compounds = []
            for _ in range(1 if self.size.buildings_per_grid < 4 else self.rng.choice((1, 2))):
                compound = unique_pick(self.rng, self.pools.compound_name, self.compound_names)
                self.compounds.append(compound)
                compounds.append([compound, self.pools.road(self.rng), self.rng.randint(1, 199), 0])
            # Each compound's buildings stand together inside the grid's region (layout):
            # building b is in compound (b - 1) % compounds, as building_points places them.
            points = self.layout.building_points(
                grid.code, self.size.buildings_per_grid, random.Random(f"{SEED}:{grid.code}:points"),
                compounds=len(compounds), taken=self.taken_points,
            )
            for b in range(1, self.size.buildings_per_grid + 1):
                entry = compounds[(b - 1) % len(compounds)]
                entry[3] += 1
                compound, road, number, building_no = entry
                latitude, longitude = points[b - 1]
                building = Building(
                    grid=grid, code=f"{grid.code}{b:04d}", compound=compound,
                    address=f"{self.district.name}{road}{number}号院{building_no}号楼",
                    latitude=latitude, longitude=longitude,
                )
                self.buildings.append((grid, building))
                self._generate_households(building)

    def _rooms(self, count: int):
        units = 1 if count <= 6 else self.rng.choice((1, 2, 2, 3, 4))
        doors = self.rng.choice((2, 2, 3, 4))
        floors = -(-count // (units * doors))
        n = 0
        for unit in range(1, units + 1):
            for floor in range(1, floors + 1):
                for door in range(1, doors + 1):
                    if n == count:
                        return
                    n += 1
                    yield str(unit), f"{floor}{door:02d}"

    def _generate_households(self, building: Building) -> None:
        central_chosen = False
        for unit, room in self._rooms(self.size.households_per_building):
            residents, tags = self._family()
            head = residents[0]
            moved_out = self.rng.random() < 0.02
            household = Household(
                building=building, unit=unit, room=room, contact_name=head.name, phone=head.phone,
                care_tags=",".join(tags),
                status=HouseholdStatus.MOVED_OUT if moved_out else HouseholdStatus.ACTIVE,
                moved_out_at=date.today() - timedelta(days=self.rng.randint(30, 700)) if moved_out else None,
            )
            central = ""
            if not central_chosen and not moved_out:
                member = next((r for r in residents if r.is_party_member), None)
                if member is not None:
                    central, central_chosen = member.name, True
            self.households.append((building, household, residents, central))

    def _resident(self, *, gender: str, age: int, relation: str, surname: str | None = None,
                  taken: set[str]) -> Resident:
        name = unique_pick(self.rng, lambda r: self.pools.person(r, gender=gender, surname=surname), taken)
        adult = age >= 18
        return Resident(
            name=name, gender=gender, birth_year=self.this_year - age, relation=relation,
            phone=mobile(self.rng) if age >= 16 else "",
            is_party_member=adult and self.rng.random() < (0.15 if age >= 60 else 0.08),
        )

    def _family(self) -> tuple[list[Resident], list[str]]:
        rng, taken = self.rng, set()
        tags = []
        if rng.random() < 0.06:
            tags.append(CareTag.ELDERLY_ALONE)
            size, head_age = 1, rng.randint(72, 95)
        else:
            size = rng.choices((1, 2, 3, 4, 5), weights=(12, 30, 35, 16, 7))[0]
            head_age = rng.randint(26, 82)
        for tag, p in ((CareTag.SUBSISTENCE, 0.03), (CareTag.DISABILITY, 0.03), (CareTag.KEY_CONCERN, 0.02)):
            if rng.random() < p:
                tags.append(tag)
        head_gender = rng.choice((Gender.MALE, Gender.FEMALE))
        head = self._resident(gender=head_gender, age=head_age, relation="户主", taken=taken)
        family = [head]
        surname = head.name[0]
        if size >= 2:
            spouse_gender = Gender.FEMALE if head_gender == Gender.MALE else Gender.MALE
            family.append(self._resident(gender=spouse_gender, age=max(20, head_age + rng.randint(-5, 5)),
                                         relation="配偶", taken=taken))
        for _ in range(max(0, min(size, 4) - 2)):
            child_age = max(0, head_age - rng.randint(24, 34))
            family.append(self._resident(gender=rng.choice((Gender.MALE, Gender.FEMALE)), age=child_age,
                                         relation="子女", surname=surname, taken=taken))
        if size == 5:
            family.append(self._resident(gender=rng.choice((Gender.MALE, Gender.FEMALE)),
                                         age=min(100, head_age + rng.randint(24, 30)), relation="父母",
                                         surname=surname, taken=taken))
        return family, tags

    def _organizations(self) -> list[Organization]:
        rng, orgs, names = self.rng, [], set()
        context = {"district": self.district.name, "street": self.street.name.removesuffix("街道"),
                   "community": self.community.name}

        def add(kind: str, name: str) -> None:
            if name in names:
                return  # one property company often serves two compounds
            names.add(name)
            orgs.append(Organization(
                community=self.community, kind=kind, name=name[:100],
                contact_name=self.pools.person(rng, gender=rng.choice("MF")),
                phone=landline(rng) if rng.random() < 0.6 else mobile(rng),
            ))

        for compound in self.compounds:
            add(OrganizationKind.PROPERTY, self.pools.property_company(rng))
            if rng.random() < 0.5:
                add(OrganizationKind.OWNERS_COMMITTEE, f"{compound}业主委员会")
        for template in rng.sample(RESIDENT_UNITS, 2):
            add(OrganizationKind.RESIDENT_UNIT, template.format(n=rng.randint(1, 180), **context))
        for template in rng.sample(SOCIAL_ORGANIZATIONS, 2):
            add(OrganizationKind.SOCIAL, template.format(**context))
        return orgs

    # --- saving -----------------------------------------------------------------------

    def save(self, *, batch_size: int) -> int:
        """Generate and save the community; returns its number of households.

        Steps: 1. generate everything in memory; 2. in one transaction insert the
        community, grids, buildings, households, residents, the party overlay
        (社区党委 → 网格党支部 → 楼栋党小组 → 党员中心户) and the partner organisations.
        """
        self.generate()
        self.community.population = sum(
            len(residents) for _b, h, residents, _c in self.households if h.status == HouseholdStatus.ACTIVE
        )
        # The demo's communities are all urban: their registered residents stand in for
        # the statistics bureau's 城镇常住人口 (the staffing ratio's denominator).
        self.community.urban_population = self.community.population
        rng = self.rng
        with transaction.atomic():
            self.community.save(force_insert=True)
            bulk_insert(Grid, self.grids, batch_size=batch_size)
            bulk_insert(Building, [b for _g, b in self.buildings], batch_size=batch_size)
            for building, household, _r, _c in self.households:
                household.building = building  # picks up the building's new id
            bulk_insert(Household, [h for _b, h, _r, _c in self.households], batch_size=batch_size)
            residents = []
            for _b, household, family, _c in self.households:
                for resident in family:
                    resident.household = household
                    residents.append(resident)
            bulk_insert(Resident, residents, batch_size=batch_size)
            del residents

            committee = PartyOrganization.objects.create(
                level=PartyLevel.COMMUNITY_COMMITTEE, community=self.community, parent=self.street_committee,
                name=f"{self.community.name}党委", secretary=self.pools.person(rng, gender=rng.choice("MF")),
            )
            branches = {
                grid.code: PartyOrganization(
                    level=PartyLevel.GRID_BRANCH, grid=grid, parent=committee,
                    name=f"{self.community.name}{grid.name}党支部",
                    secretary=self.pools.person(rng, gender=rng.choice("MF")),
                )
                for grid in self.grids
            }
            bulk_insert(PartyOrganization, list(branches.values()), batch_size=batch_size)
            groups = {
                building.code: PartyOrganization(
                    level=PartyLevel.BUILDING_GROUP, building=building, parent=branches[grid.code],
                    name=f"{building.compound}{building.address.rsplit('号院', 1)[-1]}党小组",
                    secretary=self.pools.person(rng, gender=rng.choice("MF")),
                )
                for grid, building in self.buildings
            }
            bulk_insert(PartyOrganization, list(groups.values()), batch_size=batch_size)
            bulk_insert(PartyOrganization, [
                PartyOrganization(
                    level=PartyLevel.CENTRAL_HOUSEHOLD, household=household, parent=groups[building.code],
                    name=f"{household.contact_name}家党员中心户", secretary=member,
                )
                for building, household, _r, member in self.households if member
            ], batch_size=batch_size)
            bulk_insert(Organization, self._organizations(), batch_size=batch_size)
        return len(self.households)
