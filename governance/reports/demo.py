"""seed_demo step (DEMO_STEPS: "governance.reports.demo.seed"): a year of handled appeals
across the demo city, then the scores, so the report pages and their charts show real
computed figures on ``make run``.

The history is written in bulk, each appeal coherent with its event log (the scoring
reads only the log and the appeal's deadlines): received → dispatched to its grid
(data carries level and unit_code) → signed and first contact → resolved → feedback →
evaluated (an unsatisfied one goes back to work and is resolved again; evaluated
unsatisfied once more, it is closed at the rework limit and flagged for supervisors),
or closed unevaluated after 7 days. Some are reported up (上报) to the community, which
resolves them (不出格率 below 100); some were found on patrol (主动发现: signed by the
grid worker at once, no contact, closed by 核查). Every lifecycle ends before now, so
nothing here is open. Each community gets a steady "quality" so rankings and trends differ and
stay plausible. A few phones and buildings recur, for the hot spots.

Idempotent: the history is written once (its receive events carry seeded="demo_history");
scoring runs every time (final months are left as stored).
"""

import random
from datetime import datetime, time, timedelta

from django.utils import timezone

from appeals import events as ev
from appeals.enums import AppealState, HandlingLevel, Rating, Source
from appeals.models import Appeal, AppealEvent, Category
from appeals.suggest.coldstart import texts_for
from appeals.workdays import deadline_for
from governance.assessment import flows
from governance.assessment.periods import month_start, next_month, previous_month, today_local
from governance.assessment.services import compute_month
from governance.kernel.bulk import chunked
from governance.kernel.clock import CHINA
from governance.kernel.demo import demo_say as _write
from grids.models import Building

MONTHS = 12
SEEDED = "demo_history"  # the receive events of this history say so (appeals.events.Receive.seeded)
MAX_APPEALS = 20000  # the large demo city gets fewer per community
DESCRIPTIONS = {
    "01": ["小区门口垃圾堆放多日无人清理", "楼道堆放杂物影响通行", "绿化带内有建筑垃圾"],
    "02": ["路口有流动摊贩占道经营", "人行道被车辆长期占用", "夜间施工噪音扰民"],
    "03": ["楼前路灯不亮", "井盖松动有安全隐患", "小区健身器材损坏"],
    "04": ["楼上漏水到我家", "暖气不热", "电梯经常停运"],
    "05": ["邻居装修噪音大", "楼上宠物狗夜间吠叫", "邻里因停车位发生纠纷"],
}


def _description(category, rng) -> str:
    """A resident's words for the category: the cold-start corpus's (appeals.suggest), else
    a line of its class."""
    lines = texts_for(category.code)
    return rng.choice(lines) if lines else rng.choice(DESCRIPTIONS.get(category.code[:2], DESCRIPTIONS["01"]))


def _at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA)


def history_seed(*, now: datetime | None = None, seed: int = 20261001, batch_size: int = 2000) -> int:
    """Write the year of handled appeals; returns how many (0 if already there)."""
    if AppealEvent.objects.filter(action=ev.Receive.action, data__seeded=SEEDED).exists():
        return 0
    now = now or timezone.now()
    categories = list(Category.objects.filter(default_level=HandlingLevel.GRID, active=True).order_by("code"))
    buildings: dict[str, list] = {}
    for building in Building.objects.select_related("grid__community__street").order_by("code"):
        buildings.setdefault(building.grid.community_id, []).append(building)
    if not categories or not buildings:
        return 0
    rng = random.Random(seed)
    per_month = max(1, min(8, MAX_APPEALS // (len(buildings) * MONTHS)))
    first_month = month_start(today_local(now))
    for _i in range(MONTHS):
        first_month = previous_month(first_month)
    quality = {code: rng.uniform(0.45, 0.97) for code in sorted(buildings)}
    regulars = [f"1370000{i:04d}" for i in range(40)]  # residents who call again and again

    appeals, lifecycles = [], []
    month = first_month
    while month <= today_local(now):
        for community_code, places in sorted(buildings.items()):
            q = quality[community_code]
            for _n in range(per_month):
                building = rng.choice(places[: max(3, len(places) // 3)] if rng.random() < 0.4 else places)
                category = rng.choice(categories)
                day = month + timedelta(days=rng.randrange(0, 27))
                received = _at(day, rng.randrange(8, 18), rng.randrange(0, 60))
                dispatched = received + timedelta(minutes=rng.randrange(2, 30))
                response_deadline = dispatched + timedelta(hours=category.response_hours)
                deadline = deadline_for(category, dispatched)
                span = max((deadline - dispatched).total_seconds(), 3600)
                contact = dispatched + timedelta(hours=rng.uniform(0.5, category.response_hours * (0.8 if rng.random() < q else 1.6)))
                resolved = dispatched + timedelta(seconds=span * (rng.uniform(0.2, 0.95) if rng.random() < q else rng.uniform(1.05, 1.8)))
                roll = rng.random()
                unsatisfied = roll > q + 0.05
                unevaluated = not unsatisfied and rng.random() < 0.1
                rating = Rating.SATISFIED if rng.random() < q else Rating.BASICALLY
                grid = building.grid
                if rng.random() < 0.1:
                    found = _patrol_lifecycle(building, category, dispatched, resolved, rng)
                    if found[0].closed_at < now:
                        appeals.append(found[0])
                        lifecycles.append(found[1])
                    continue
                events = [
                    (ev.Receive(source=Source.PHONE, seeded=SEEDED), received, "", AppealState.RECEIVED),
                    (ev.Dispatch(unit_level=HandlingLevel.GRID, unit_code=building.grid.code, unit=building.grid.name,
                                 category=category.code, automatic=True), dispatched, AppealState.RECEIVED, AppealState.DISPATCHED),
                    (ev.Sign(), contact, AppealState.DISPATCHED, AppealState.IN_PROGRESS),
                    (ev.Contact(first=True), contact + timedelta(seconds=1), AppealState.IN_PROGRESS, AppealState.IN_PROGRESS),
                ]
                reported_up = rng.random() < (1 - q) * 0.5  # 上报: the community resolves it
                if reported_up:
                    up = dispatched + (resolved - dispatched) / 2
                    events.append((ev.Escalate(
                        from_level="grid", to_level="community", automatic=False, level_deadline=deadline,
                        handler={"from": ["grid", grid.code], "to": ["community", grid.community_id]},
                        unit_level="community", unit_code=grid.community_id), up, AppealState.IN_PROGRESS, AppealState.IN_PROGRESS))
                events += [
                    (ev.Resolve(), resolved, AppealState.IN_PROGRESS, AppealState.RESOLVED),
                    (ev.Feedback(method="sms"), resolved + timedelta(minutes=5), AppealState.RESOLVED, AppealState.AWAITING_EVALUATION),
                ]
                evaluated_at = resolved + timedelta(hours=rng.uniform(2, 48))
                rework = 0
                if unsatisfied:
                    rework = 1
                    events.append((ev.Evaluate(solved=False, rating=Rating.UNSATISFIED, comment="问题没有解决", rework=True),
                                   evaluated_at, AppealState.AWAITING_EVALUATION, AppealState.IN_PROGRESS))
                    resolved = evaluated_at + timedelta(hours=rng.uniform(6, 72))
                    evaluated_at = resolved + timedelta(hours=rng.uniform(2, 24))
                    events += [
                        (ev.Resolve(), resolved, AppealState.IN_PROGRESS, AppealState.RESOLVED),
                        (ev.Feedback(method="sms"), resolved + timedelta(minutes=5), AppealState.RESOLVED, AppealState.AWAITING_EVALUATION),
                    ]
                    rating = Rating.BASICALLY if rng.random() < q else Rating.UNSATISFIED
                flagged = rating == Rating.UNSATISFIED  # at the rework limit: closed, for supervisors
                if unevaluated:
                    closed = resolved + timedelta(days=7, hours=1)
                    events.append((ev.CloseUnevaluated(), closed, AppealState.AWAITING_EVALUATION, AppealState.CLOSED))
                    rating, solved = "", None
                else:
                    closed = evaluated_at
                    solved = not flagged and (rating == Rating.SATISFIED or rng.random() < q + 0.1)
                    events.append((ev.Evaluate(solved=solved, rating=rating, comment="仍未解决" if flagged else ""),
                                   closed, AppealState.AWAITING_EVALUATION, AppealState.CLOSED))
                if closed >= now:
                    continue  # only finished lifecycles
                phone = rng.choice(regulars) if rng.random() < 0.15 else f"13{rng.randrange(100000000, 999999999)}"
                appeals.append(Appeal(
                    category=category, description=_description(category, rng),
                    source=Source.PHONE, building=building, address_text=building.address,
                    district_id=grid.community.street.district_id, street_id=grid.community.street_id,
                    community_id=grid.community_id, grid_id=grid.code, territory_code=building.code,
                    phone=phone, state=AppealState.CLOSED,
                    **({"handling_level": HandlingLevel.COMMUNITY, "handling_community_id": grid.community_id,
                        "escalation_level": "community"} if reported_up else
                       {"handling_level": HandlingLevel.GRID, "handling_grid_id": grid.code, "escalation_level": "grid"}),
                    dispatcher_level="", level_deadline=deadline,
                    response_deadline=response_deadline, deadline=deadline, first_contact_at=contact,
                    dispatched_at=dispatched, resolved_at=resolved, feedback_at=resolved + timedelta(minutes=5),
                    closed_at=closed, verified=False, rating=rating, solved=solved, rework_count=rework,
                    flagged_for_supervisor=flagged,
                    result="已现场处理完毕", version=len(events), created_at=received,
                ))
                lifecycles.append(events)
        month = next_month(month)

    Appeal.objects.bulk_create(appeals, batch_size=batch_size)
    # auto_now_add stamped "now": put the real times back in bulk.
    for appeal, events in zip(appeals, lifecycles, strict=True):
        appeal.created_at = events[0][1]
        appeal.updated_at = events[-1][1]
    Appeal.objects.bulk_update(appeals, ["created_at", "updated_at"], batch_size=500)
    system = (ev.Receive.action, ev.Dispatch.action)

    def by_system(appeal, data) -> bool:
        # A patrol appeal is received from its finder, the grid worker.
        return data.action in system and not (data.action == ev.Receive.action and appeal.source == Source.GRID_PATROL)

    history = [
        ev.Event(appeal_id=appeal.pk, data=data, from_state=from_state, to_state=to_state, at=when,
                 actor_label=ev.SYSTEM_LABEL if by_system(appeal, data) else f"{appeal.grid_id}·网格员")
        for appeal, events in zip(appeals, lifecycles, strict=True)
        for data, when, from_state, to_state in events
    ]
    for chunk in chunked(history, batch_size):
        ev.load_history(chunk)
    return len(appeals)


def _patrol_lifecycle(building, category, dispatched, resolved, rng) -> tuple[Appeal, list]:
    """A 主动发现 appeal of the history: the grid worker found it on patrol, the system
    dispatched it to the worker's grid, the worker signed for it at once (no contact:
    there is no resident), resolved it, and 核查 closed it (no feedback, no evaluation)."""
    grid = building.grid
    received = dispatched - timedelta(minutes=1)
    checked = resolved + timedelta(hours=rng.uniform(1, 24))
    deadline = deadline_for(category, dispatched)
    events = [
        (ev.Receive(source=Source.GRID_PATROL, seeded=SEEDED), received, "", AppealState.RECEIVED),
        (ev.Dispatch(unit_level=HandlingLevel.GRID, unit_code=grid.code, unit=grid.name, category=category.code,
                     automatic=True), dispatched, AppealState.RECEIVED, AppealState.DISPATCHED),
        (ev.Sign(contact=False), dispatched, AppealState.DISPATCHED, AppealState.IN_PROGRESS),
        (ev.Resolve(), resolved, AppealState.IN_PROGRESS, AppealState.RESOLVED),
        (ev.VerifyPass(), checked, AppealState.RESOLVED, AppealState.CLOSED),
    ]
    appeal = Appeal(
        category=category, description="巡查发现：" + _description(category, rng),
        source=Source.GRID_PATROL, building=building, address_text=building.address,
        district_id=grid.community.street.district_id, street_id=grid.community.street_id,
        community_id=grid.community_id, grid_id=grid.code, territory_code=building.code, phone="",
        state=AppealState.CLOSED, handling_level=HandlingLevel.GRID, handling_grid_id=grid.code, dispatcher_level="",
        escalation_level="grid", level_deadline=deadline, response_deadline=dispatched + timedelta(
            hours=category.response_hours), deadline=deadline, dispatched_at=dispatched, resolved_at=resolved,
        closed_at=checked, verified=True, result="已现场处理完毕", version=len(events), created_at=received,
    )
    return appeal, events


def scores_seed(*, now: datetime | None = None) -> list:
    """Score the last MONTHS months and this month to date (final months stay as stored)."""
    now = now or timezone.now()
    month = month_start(today_local(now))
    months = [month]
    for _i in range(MONTHS):
        month = previous_month(month)
        months.append(month)
    return [compute_month(month=m, now=now) for m in sorted(months)]


def seed(ctx=None) -> None:
    """seed_demo step: a year of handled appeals (once), then the scores."""
    batch = getattr(ctx, "batch_size", 2000) if ctx is not None else 2000
    n = history_seed(batch_size=batch)
    _write(ctx, f"报表演示数据：{n} 件历史诉求" if n else "报表演示数据：历史诉求已存在，跳过")
    results = scores_seed()
    _write(ctx, f"考核成绩：已计算 {len(results)} 个月")
    first = flows.first_event_day()
    if first is not None:
        flows.flows_rebuild(first=first, last=today_local(timezone.now()), chunk_days=31)
        _write(ctx, f"诉求日流量：{first:%Y-%m-%d} 起已汇总")
