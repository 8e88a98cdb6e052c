"""Demo data for volunteers (a seed_demo step; see governance/demo/__init__.py).

In the demo community: the ``volunteer`` account's Volunteer row and its 双报到
registration, about twenty volunteers drawn from residents, two paired party
organisations, activities (one open in the coming days, one today that ``volunteer``
is signed up to and can check in to, one finished with hours credited), rewards with
stock, and some points history; and service appeals of volunteer-suitable categories
(助老, 代办) waiting in the community's order hall (接单大厅) for ``volunteer`` to claim.
Idempotent: each piece is looked up before it is made.
"""

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.utils import timezone

from appeals.enums import Source
from appeals.models import Appeal, Category
from appeals.services import appeal_receive
from governance.enums import Role
from governance.kernel.demo import demo_say as _write
from governance.models import Post
from grids.models import Building, Community, Resident
from volunteers import services
from volunteers.enums import SignupStatus, Skill
from volunteers.models import (
    Activity,
    PairedOrganization,
    PartyMemberRegistration,
    PointsEntry,
    Reward,
    Signup,
    Volunteer,
)
from volunteers.selectors import order_hall

DEMO_ORGANIZATIONS = [
    ("区税务局第一党支部", "国家税务总局北京市税务局第一分局", "张伟", "010-64001234"),
    ("区实验中学党总支", "北京市第一实验中学", "刘洋", "010-64005678"),
]
DEMO_REWARDS = [
    ("环保购物袋", "社区定制帆布袋", 10, 50),
    ("洗衣液 2 kg", "", 30, 20),
    ("食用油 5 L", "", 80, 10),
    ("理发服务券", "社区便民理发点使用", 20, 30),
    ("公园年票", "全市通用", 200, 5),
]


def _demo_community(context) -> Community | None:
    territory = getattr(context, "territory", None)
    if territory is not None and getattr(territory, "community", None) is not None:
        return territory.community
    post = Post.objects.filter(user__username="community_worker", role=Role.COMMUNITY_WORKER).select_related("community").first()
    return post.community if post else None


def _user(context, username: str):
    accounts = getattr(context, "accounts", None) or {}
    return accounts.get(username) or get_user_model().objects.filter(username=username).first()


def seed(context) -> None:
    community = _demo_community(context)
    volunteer_user = _user(context, "volunteer")
    organiser = _user(context, "community_worker")
    if community is None or volunteer_user is None or organiser is None:
        _write(context, "志愿者演示数据：找不到演示社区或账号，跳过。")
        return
    rng = random.Random(f"volunteers-{community.code}")
    now = timezone.now()
    year = timezone.localdate().year

    organizations = []
    for name, unit, contact, phone in DEMO_ORGANIZATIONS:
        org = PairedOrganization.objects.filter(community=community, name=name).first()
        if org is None:
            org = services.paired_organization_register(
                community=community, name=name, work_unit=unit, contact_name=contact, phone=phone,
                reported_at=dt.date(year, 1, 15),
            )
        organizations.append(org)

    me = Volunteer.objects.filter(user=volunteer_user).first()
    if me is None:
        me = services.volunteer_register(
            community=community, user=volunteer_user, name=volunteer_user.first_name or "周敏",
            phone="13800138000", skills=[Skill.ELDERLY_CARE, Skill.ERRANDS],
            joined_on=dt.date(year - 1, 3, 5),
        )
    if not PartyMemberRegistration.objects.filter(volunteer=me, year=year).exists():
        services.party_member_register(
            volunteer=me, work_unit=organizations[0].work_unit, organization=organizations[0], year=year,
            reported_at=dt.date(year, 1, 15),
        )

    others = list(Volunteer.objects.filter(community=community, user__isnull=True).order_by("id"))
    if len(others) < 20:
        taken = set(Volunteer.objects.filter(resident__isnull=False).values_list("resident_id", flat=True))
        residents = (
            Resident.objects.filter(household__building__grid__community=community)
            .exclude(pk__in=taken).select_related("household__building").order_by("id")[: 20 - len(others)]
        )
        for resident in residents:
            others.append(services.volunteer_register(
                community=community, resident=resident,
                skills=rng.sample(Skill.values, k=rng.randint(1, 3)),
                joined_on=dt.date(year - rng.randint(0, 3), rng.randint(1, 12), rng.randint(1, 28)),
            ))
    for i, v in enumerate(others[:6]):
        if not PartyMemberRegistration.objects.filter(volunteer=v, year=year).exists():
            services.party_member_register(
                volunteer=v, work_unit=organizations[i % 2].work_unit, organization=organizations[i % 2], year=year,
                reported_at=dt.date(year, 2, 1 + i) if i != 5 else None,
            )

    local_today = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)

    def activity(title, **fields) -> Activity:
        found = Activity.objects.filter(community=community, title=title).first()
        if found is not None:
            return found
        return Activity.objects.create(community=community, organiser=organiser, title=title, **fields)

    # Finished: created directly (the service refuses a start in the past), then credited
    # through the check-out service so that hours and points follow the same rules.
    finished = activity(
        "重阳节敬老助餐", description="为社区独居老人送餐、陪伴聊天。", place="社区养老服务驿站",
        starts_at=local_today - dt.timedelta(days=10, hours=2), ends_at=local_today - dt.timedelta(days=10) + dt.timedelta(hours=1),
        capacity_min=3, capacity_max=12,
    )
    if not finished.signups.exists():
        for v in [me, *others[:9]]:
            Signup.objects.create(activity=finished, volunteer=v, signed_up_at=finished.starts_at - dt.timedelta(days=3))
        Activity.objects.filter(pk=finished.pk).update(signed_up_count=10)
        for i, signup in enumerate(finished.signups.select_related("volunteer")):
            Signup.objects.filter(pk=signup.pk).update(status=SignupStatus.CHECKED_IN, checked_in_at=finished.starts_at)
            signup.status, signup.checked_in_at = SignupStatus.CHECKED_IN, finished.starts_at
            signup.activity = finished
            services._check_out(signup, at=finished.ends_at - dt.timedelta(minutes=30 * (i % 3)), actor=organiser)
        Activity.objects.filter(pk=finished.pk).update(status="finished")

    today = activity(
        "小区环境整治", description="清理楼道杂物、绿地捡拾垃圾。签到码见组织者手机。", place="和平里小区中心广场",
        starts_at=local_today - dt.timedelta(hours=1), ends_at=local_today + dt.timedelta(hours=3),
        capacity_min=2, capacity_max=15,
    )
    if not today.signups.exists():
        for v in [me, *others[9:13]]:
            Signup.objects.create(activity=today, volunteer=v, signed_up_at=today.starts_at - dt.timedelta(days=1))
        Activity.objects.filter(pk=today.pk).update(signed_up_count=5)

    activity(
        "周末防诈骗宣传", description="在社区广场发放防诈骗宣传资料，讲解常见骗局。", place="社区党群服务中心",
        starts_at=local_today + dt.timedelta(days=3), ends_at=local_today + dt.timedelta(days=3, hours=3),
        capacity_min=3, capacity_max=8,
    )
    activity(
        "义务理发进社区", description="为行动不便的老人上门理发。", place="社区活动室",
        starts_at=local_today + dt.timedelta(days=6), ends_at=local_today + dt.timedelta(days=6, hours=2),
        capacity_min=2, capacity_max=4,
    )

    for name, description, cost, stock in DEMO_REWARDS:
        city_wide = name == "公园年票"
        if not Reward.objects.filter(name=name, community=None if city_wide else community).exists():
            Reward.objects.create(name=name, description=description, cost=cost, stock=stock,
                                  community=None if city_wide else community)

    if not PointsEntry.objects.filter(volunteer=me, source="manual").exists():
        services.points_adjust(volunteer=me, delta=20, note="去年服务积分结转", actor=organiser)
    hall = _seed_order_hall(community, me)
    _write(context, f"志愿者演示数据：接单大厅待接 {hall} 件。")
    _write(context, f"志愿者演示数据：{community.name} 志愿者 {Volunteer.objects.filter(community=community).count()} 人，"
                    f"活动 {Activity.objects.filter(community=community).count()} 个。")


# Received through the real intake service: volunteer-suitable categories dispatched to the
# community wait in its order hall. Needs the responsibility list (appeals.demo runs first).
DEMO_HALL_APPEALS = [
    ("06001", "楼里独居的刘奶奶腿脚不便，想请志愿者每周帮忙代购一次米面油，顺便陪她聊聊天。", "刘桂兰", "13910009001"),
    ("10004", "母亲行动不便，想请志愿者帮忙到街道便民服务中心代办高龄津贴的证明材料。", "陈志强", "13910009002"),
    ("06001", "老伴住院，想请人下周二上午陪同去医院复诊取药。", "", "13910009003"),
]


def _seed_order_hall(community: Community, me: Volunteer) -> int:
    building = Building.objects.filter(grid__community=community).order_by("code").first()
    for code, text, name, phone in DEMO_HALL_APPEALS:
        category = Category.objects.filter(code=code, volunteer_suitable=True, active=True).first()
        if category is None or building is None or Appeal.objects.filter(community=community, description=text).exists():
            continue
        appeal_receive(source=Source.WEB, category=category, building=building, description=text, phone=phone, name=name)
    return order_hall(volunteer=me).count()
