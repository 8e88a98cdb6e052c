"""Demo 入户走访 (a seed_demo step, governance.demo.DEMO_STEPS): the rules' default
categories, two months of visits to the demo community's care households by its two grid
workers — at home, by phone, a few 未见到 (one household three times in a row: its flag),
some households left overdue — and needs found on visits raised as appeals. Every visit
goes through appeals.visits.services, so the flag and the links are the real ones."""

import random
from datetime import timedelta

from django.utils import timezone

from appeals.models import Category
from appeals.visits import plans, services
from appeals.visits.enums import CheckAnswer, VisitMethod
from appeals.visits.models import Visit, VisitRule
from governance.kernel.demo import demo_say as _write
from grids.enums import HouseholdStatus
from grids.models import Household

RULE_CATEGORIES = {"elderly_alone": "06002", "key_concern": "06002", "subsistence": "10002", "disability": "06004"}
NOTES = [
    "老人精神状态良好，冰箱里有新鲜蔬菜，子女每周来一次。",
    "燃气灶旁堆放纸箱，已当面提醒清理并检查了燃气报警器。",
    "腿脚不便，下楼困难，希望有人帮忙代购药品。",
    "家中电线老化，插座发烫，已提醒暂停使用大功率电器。",
    "低保年审材料已备齐，约好下周到社区办理。",
    "电话沟通：近期血压平稳，按时服药。",
    "楼道灯不亮，老人晚上出门不便。",
]
NEEDS = [
    ("06002", "独居老人家中卫生间地面湿滑，需加装扶手和防滑垫，请协调适老化改造。"),
    ("06001", "老人腿脚不便，需要志愿者每周代购药品和日用品。"),
]


def seed(ctx) -> None:
    categories = {c.code: c for c in Category.objects.filter(code__in=set(RULE_CATEGORIES.values()) | {"06001"})}
    for tag, code in RULE_CATEGORIES.items():
        VisitRule.objects.filter(care_tag=tag, category__isnull=True).update(category=categories.get(code))
    territory = getattr(ctx, "territory", None)
    accounts = getattr(ctx, "accounts", None) or {}
    if territory is None or "grid_worker" not in accounts:
        _write(ctx, "入户走访演示数据：未找到演示社区或演示账号，跳过")
        return
    community = territory.community
    if Visit.objects.filter(territory_code__startswith=community.code).exists():
        _write(ctx, "入户走访演示数据：已存在，跳过")
        return
    workers = {territory.unit("grid").code: accounts["grid_worker"]}
    if "grid_worker2" in accounts:
        workers.setdefault(territory.unit("grid2").code, accounts["grid_worker2"])
    households = list(Household.objects.filter(
        building__grid__code__in=list(workers), status=HouseholdStatus.ACTIVE,
    ).exclude(care_tags="").select_related("building").order_by("building__code", "room")[:60])
    now = timezone.now()
    # Registered well before the visits, so that the lists show the households' standing.
    Household.objects.filter(pk__in=[h.pk for h in households]).update(created_at=now - timedelta(days=120))
    rng = random.Random(22)
    rules = plans.rules()
    count = raised = 0
    for index, household in enumerate(households):
        visitor = workers[household.building.grid_id]
        plan = plans.plan_for(household.care_tag_list, rules)
        if plan is None:
            continue
        step = {"week": 7, "fortnight": 14, "month": 30}[plan.period]
        # Every fifth household has fallen behind: its last visit is two periods or more ago.
        behind = index % 5 == 4
        start = 56 if not behind else 56 + step * 2
        days = list(range(start, step * 2 if behind else 0, -step)) or [start]
        for days_ago in days:
            method = rng.choices([VisitMethod.HOME, VisitMethod.PHONE, VisitMethod.NOT_FOUND], [7, 2, 1])[0]
            checklist = {item: CheckAnswer.GOOD for item in plan.checklist}
            if method != VisitMethod.NOT_FOUND and rng.random() < 0.2 and plan.checklist:
                checklist[rng.choice(plan.checklist)] = CheckAnswer.CONCERN
            services.visit_record(
                actor=visitor, household=household, method=method,
                checklist=checklist if method != VisitMethod.NOT_FOUND else {},
                notes=rng.choice(NOTES) if method != VisitMethod.NOT_FOUND else "敲门无人应答，邻居说老人可能去女儿家了。",
                companions=rng.choice(["", "", "楼栋长", "社区民警"]),
                now=now - timedelta(days=days_ago, hours=rng.randint(0, 6)),
            )
            count += 1
        if index == 2:  # three 未见到 in a row: the community is flagged
            for days_ago in (3, 2, 1):
                services.visit_record(actor=visitor, household=household, method=VisitMethod.NOT_FOUND,
                                      notes="敲门无人应答，电话未接。", now=now - timedelta(days=days_ago))
                count += 1
        if raised < len(NEEDS) and index in (0, 1):
            visit = services.visit_record(
                actor=visitor, household=household, method=VisitMethod.HOME,
                checklist={item: CheckAnswer.CONCERN if i == 1 else CheckAnswer.GOOD
                           for i, item in enumerate(plan.checklist)},
                notes="走访中发现需求，已当场登记诉求。", now=now - timedelta(hours=2))
            count += 1
            code, text = NEEDS[raised]
            services.visit_raise_appeal(actor=visitor, visit=visit, category=categories.get(code), description=text)
            raised += 1
    _write(ctx, f"入户走访：{count} 次走访，{raised} 件走访发现的诉求")
