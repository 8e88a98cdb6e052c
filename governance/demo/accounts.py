"""The demo staff accounts: one for every role, all on the demo community's chain.

The demo community is the first community of the first street of the first district
(e.g. 110101001001); its first two grids get the two grid workers, so that a grid
worker, a colleague in the next grid, their community, street and district department
can all be tried out on the same appeals.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from governance.enums import Role
from governance.models import Post
from grids.models import Community, Department, District, Grid, Street

DEMO_PASSWORD = "gongzhi-demo"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    first_name: str
    role: Role | None  # None: no staff post (the volunteer, the administrator)
    unit: str  # which unit of DemoTerritory the post names: grid, grid2, community, …
    title: str = ""
    superuser: bool = False


DEMO_ACCOUNTS = [
    DemoAccount("grid_worker", "刘芳", Role.GRID_WORKER, "grid", "专职网格员"),
    DemoAccount("grid_worker2", "王磊", Role.GRID_WORKER, "grid2", "专职网格员"),
    DemoAccount("community_worker", "李静", Role.COMMUNITY_WORKER, "community", "社区专职工作者"),
    DemoAccount("street_officer", "陈刚", Role.STREET_OFFICER, "street", "街道网格化服务管理分中心"),
    DemoAccount("department_handler", "赵强", Role.DEPARTMENT_HANDLER, "department", "执法队员"),
    DemoAccount("supervisor", "孙丽", Role.SUPERVISOR, "city", "督查考核科"),
    DemoAccount("volunteer", "周敏", None, ""),
    DemoAccount("admin", "系统管理员", None, "", superuser=True),
]
DEMO_USERNAMES = [a.username for a in DEMO_ACCOUNTS]


@dataclass(frozen=True)
class DemoTerritory:
    """The units the demo accounts sit in, for the accounts and for later demo steps."""

    district: District
    street: Street
    community: Community
    grids: list[Grid]  # every grid of the demo community, in code order
    department: Department  # the district's 城管
    other_community: Community | None  # another community, to show what is out of reach

    def unit(self, name: str):
        return {
            # A community seeded elsewhere may have a single grid: both workers then share it.
            "grid": self.grids[0], "grid2": self.grids[min(1, len(self.grids) - 1)], "community": self.community,
            "street": self.street, "department": self.department, "city": None,
        }[name]


def demo_territory_get(*, district_code: str) -> DemoTerritory:
    district = District.objects.get(code=district_code)
    street = Street.objects.filter(district=district).order_by("code").first()
    community = Community.objects.filter(street=street).order_by("code").first()
    return DemoTerritory(
        district=district, street=street, community=community,
        grids=list(Grid.objects.filter(community=community).order_by("code")),
        department=Department.objects.get(code=f"{district.code}-CG"),
        other_community=Community.objects.exclude(pk=community.pk).order_by("code").first(),
    )


@transaction.atomic
def demo_accounts_ensure(*, territory: DemoTerritory) -> dict[str, object]:
    """Create or refresh the demo accounts; returns them by username.

    Steps: 1. get or create each user, resetting name, flags and the demo password;
    2. get or create its post on the demo territory. Posts added by hand are left
    alone. The password is hashed once: hashing it eight times would take seconds.
    """
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)
    users = {}
    for account in DEMO_ACCOUNTS:
        user, _created = User.objects.get_or_create(username=account.username)
        user.first_name = account.first_name
        user.password = password
        user.is_active = True
        user.is_staff = user.is_superuser = account.superuser
        user.save()
        if account.role is not None:
            unit = territory.unit(account.unit)
            field = {"grid2": "grid", "city": None}.get(account.unit, account.unit)
            Post.objects.get_or_create(
                user=user, role=account.role, **({field: unit} if field else {"district": None}),
                defaults={"title": account.title},
            )
        users[account.username] = user
    return users
