"""The benchmark city: territory, households, staff with tokens, and a year of appeals
with their full event histories, written with COPY (governance.kernel.bulk; the events through appeals.events.load_history).

Every row keeps the models' CHECK constraints and the appeals' own rules, so that the
pages, the sweep and the scoring read it as they read real data:
- codes extend their parent's code; an appeal's district..grid and ``territory_code``
  (the building's code) come from its building;
- the handling unit matches ``handling_level`` (grid/community/street from the
  appeal's place, the department of the appeal's district), ``escalation_level``
  starts at the handling level ("" for a department), ``level_deadline`` = the
  deadline, both from ``appeals.workdays`` as dispatch computes them;
- the event log is the one the services write (receive → dispatch with
  ``unit_level``/``unit_code`` → sign → contact → resolve → feedback → evaluate, with a
  rework round for some unsatisfied residents, or closed unevaluated after 7 days);
  ``version`` = the number of events; every time is before ``now``: an appeal whose
  lifecycle is still running is open at the step it has reached;
- a share of appeals (Tier.stall_share) stalls after its sign-for: the open backlog,
  overdue once past its deadline (the sweep has not run on this database yet).

Deterministic: ``random.Random`` seeded by the tier, and ``now`` given.
"""

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from bench.tiers import Tier
from governance.kernel.bulk import copy_rows, next_id, sequence_reset

BENCH_PASSWORD = "gongzhi-bench"
# username → (role, unit key of bench_units)
BENCH_ACCOUNTS = {
    "bench_grid": ("grid_worker", "grid"),
    "bench_community": ("community_worker", "community"),
    "bench_street": ("street_officer", "street"),
    "bench_supervisor": ("supervisor", None),
}
SEED = 20261123
DESCRIPTIONS = [
    "小区门口垃圾堆放多日无人清理", "楼道堆放杂物影响通行", "路口有流动摊贩占道经营", "夜间施工噪音扰民",
    "楼前路灯不亮", "井盖松动有安全隐患", "楼上漏水到我家", "暖气不热", "电梯经常停运", "邻居装修噪音大",
]
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


# --- territory ---------------------------------------------------------------------------------


def bench_layout(tier: Tier, districts: list, streets: list, communities: list):
    """Where the tier's units lie (governance.demo.layout), from the counts just built."""
    from governance.demo.layout import CityLayout

    children: dict[str, int] = {}
    for unit in (*streets, *communities):
        parent = unit.code[:-3]
        children[parent] = children.get(parent, 0) + 1
    return CityLayout(seed=f"{SEED}:{tier.territory or tier.name}", district_codes=[d.code for d in districts],
                      count=lambda code: children.get(code, tier.grids_per_community), communities=len(communities))


def territory_seed(tier: Tier, *, progress: Callable[[int], None] = lambda n: None) -> dict:
    """Districts (real Beijing codes), their departments, streets, communities, grids,
    then buildings and households (and residents) by COPY, each grid's buildings together
    (bench_layout); then the boundaries drawn from the buildings
    (grids.boundaries.boundaries_from_buildings). Returns the counts."""
    from governance.demo.names import BEIJING_DISTRICTS, PLACE_WORDS
    from governance.demo.territory import departments_ensure
    from grids.boundaries import boundaries_from_buildings
    from grids.models import Building, Community, District, Grid, Household, Resident, Street

    rng = random.Random(f"{SEED}:{tier.territory or tier.name}:territory")
    districts = [District(code=c, name=n) for c, n in BEIJING_DISTRICTS[: tier.districts]]
    District.objects.bulk_create(districts)
    for district in districts:
        departments_ensure(district)
    streets, communities, grids = [], [], []
    for district, n_streets in zip(districts, _split(tier.streets, tier.districts), strict=True):
        for s in range(1, n_streets + 1):
            streets.append(Street(district=district, code=f"{district.code}{s:03d}",
                                  name=f"{rng.choice(PLACE_WORDS)}{s}街道"))
    for street, n_comm in zip(streets, _split(tier.communities, len(streets)), strict=True):
        for c in range(1, n_comm + 1):
            communities.append(Community(street=street, code=f"{street.code}{c:03d}",
                                         name=f"{rng.choice(PLACE_WORDS)}{c}社区", population=rng.randrange(3000, 12000)))
    for community in communities:
        for g in range(1, tier.grids_per_community + 1):
            grids.append(Grid(community=community, code=f"{community.code}{g:03d}", name=f"第{g}网格"))
    Street.objects.bulk_create(streets, batch_size=2000)
    Community.objects.bulk_create(communities, batch_size=2000)
    Grid.objects.bulk_create(grids, batch_size=2000)

    building_id, household_id = next_id(Building), next_id(Household)
    now = timezone.now()
    batch_b, batch_h, batch_r = [], [], []

    def flush(force: bool = False) -> None:
        nonlocal batch_b, batch_h, batch_r
        if force or len(batch_h) >= 50_000:
            copy_rows(Building, batch_b)
            copy_rows(Household, batch_h)
            copy_rows(Resident, batch_r)
            progress(len(batch_h))
            batch_b, batch_h, batch_r = [], [], []

    # Each grid's buildings stand together in its region (issue 21), so that the
    # boundaries drawn from them look like a city.
    # Regions do not overlap, so no two grids' points can be equal.
    layout = bench_layout(tier, districts, streets, communities)
    previous = None
    for grid in grids:
        if previous and grid.community_id != previous:
            layout.forget(previous)  # that community's grids are done with
        previous = grid.community_id
        points = layout.building_points(grid.code, tier.buildings_per_grid, random.Random(f"{SEED}:{grid.code}"))
        for b in range(1, tier.buildings_per_grid + 1):
            latitude, longitude = points[b - 1]
            batch_b.append({
                "id": building_id, "grid_id": grid.code, "code": f"{grid.code}{b:04d}",
                "address": f"{grid.community.name}{b}号楼", "compound": f"{grid.community.name[:-2]}小区",
                "latitude": latitude, "longitude": longitude,
            })
            for h in range(1, tier.households_per_building + 1):
                phone = f"13{rng.randrange(10**9):09d}"
                batch_h.append({
                    "id": household_id, "building_id": building_id, "unit": str(1 + h // 20), "room": f"{100 + h}",
                    "contact_name": "", "phone": phone, "care_tags": "", "status": "active",
                    "moved_out_at": None, "created_at": now, "updated_at": now,
                })
                for r in range(tier.residents_per_household):
                    batch_r.append({"household_id": household_id, "name": f"居民{household_id}-{r}",
                                    "gender": "MF"[r % 2], "birth_year": rng.randrange(1940, 2015),
                                    "phone": phone if r == 0 else "", "relation": "户主" if r == 0 else "家属",
                                    "is_party_member": rng.random() < 0.08})
                household_id += 1
            building_id += 1
        flush()
    flush(force=True)
    sequence_reset(Building, Household, Resident)
    boundaries_from_buildings(clip=layout.outline)
    return {"districts": len(districts), "streets": len(streets), "communities": len(communities),
            "grids": len(grids), "buildings": Building.objects.count(), "households": Household.objects.count()}


# --- staff ----------------------------------------------------------------------------------


def bench_units() -> dict:
    """The staff's units: the first grid of the first community of the first street."""
    from grids.models import Community, Grid, Street

    street = Street.objects.order_by("code").first()
    community = Community.objects.filter(street=street).order_by("code").first()
    grid = Grid.objects.filter(community=community).order_by("code").first()
    return {"street": street, "community": community, "grid": grid}


def accounts_seed() -> dict[str, str]:
    """The four benchmark accounts with their posts and API tokens; returns username → token."""
    from governance.kernel.api.tokens import token_for_login
    from governance.models import Post

    units = bench_units()
    password = make_password(BENCH_PASSWORD)
    tokens = {}
    for username, (role, unit) in BENCH_ACCOUNTS.items():
        user, _created = get_user_model().objects.get_or_create(username=username, defaults={"password": password})
        Post.objects.get_or_create(user=user, role=role, **({unit: units[unit]} if unit else {"district": None}))
        tokens[username] = token_for_login(user=user).key
    return tokens


# --- appeals ---------------------------------------------------------------------------------


class _Deadlines:
    """deadline_for with memory: one working-day walk per (limit, China day)."""

    def __init__(self) -> None:
        self.cache: dict = {}

    def of(self, category, start: datetime) -> datetime:
        from appeals.enums import DeadlineUnit
        from appeals.workdays import add_working_days
        from governance.kernel.clock import CHINA

        if category.resolution_unit == DeadlineUnit.HOURS:
            return start + timedelta(hours=category.resolution_limit)
        key = (category.resolution_limit, start.astimezone(CHINA).date())
        if key not in self.cache:
            # No admin overrides in a fresh benchmark database: skip their query.
            self.cache[key] = add_working_days(start, category.resolution_limit, overrides={})
        return self.cache[key]


def _places() -> list[tuple]:
    from grids.models import Building

    return list(
        Building.objects.order_by("id").values_list(
            "id", "code", "address", "grid_id", "grid__name", "grid__community_id", "grid__community__name",
            "grid__community__street_id", "grid__community__street__name", "grid__community__street__district_id",
        )
    )


# Ids reserved per appeal for its events: a history has at most 12 (two rounds of 办结,
# 核查 and 反馈, each evaluated); chunks number their events in ranges of their own, so
# that chunks written in any order, by any process, never collide.
EVENT_IDS_PER_APPEAL = 16


def _chunks(tier: Tier) -> list[tuple[int, int, int]]:
    """The tier's appeals cut into chunks of ``tier.batch``: (chunk, first index, size)."""
    return [(c, first, min(tier.batch, tier.appeals - first))
            for c, first in enumerate(range(0, tier.appeals, tier.batch))]


class _Context:
    """What every chunk reads: loaded once, before the worker processes fork."""

    def __init__(self, tier: Tier, now: datetime) -> None:
        from appeals.models import Appeal, AppealEvent, Category
        from grids.models import Department

        self.tier, self.now = tier, now
        self.categories = list(Category.objects.filter(active=True).order_by("code"))
        self.departments = {(d, kind): (pk, code, name) for pk, d, code, name in
                            Department.objects.values_list("id", "district_id", "code", "name")
                            for kind in [code.split("-", 1)[1]]}
        self.places = _places()
        self.first_appeal_id, self.first_event_id = next_id(Appeal), next_id(AppealEvent)
        self.deadlines = _Deadlines()


_CONTEXT: _Context | None = None


def _chunk_seed(chunk: tuple[int, int, int]) -> dict:
    """One chunk's appeals and events in one transaction, with its mark in the seed's
    state table: a chunk is written whole or not at all, so a run that stops resumes at
    the chunks not yet marked. Deterministic: its own random stream and its own slice
    of the year (received times in order, so ids grow with time as in production)."""
    from appeals import events as ev
    from appeals.models import Appeal

    context = _CONTEXT
    tier, now = context.tier, context.now
    number, first, size = chunk
    rng = random.Random(f"{SEED}:{tier.name}:appeals:{number}")
    year = timedelta(days=365)
    slice_start = now - year + year * (first / tier.appeals)
    slice_span = year * (size / tier.appeals)
    times = sorted(slice_start + slice_span * rng.random() for _ in range(size))
    appeal_id = context.first_appeal_id + first
    event_id = context.first_event_id + first * EVENT_IDS_PER_APPEAL
    appeals, events, states = [], [], {}
    for received in times:
        appeal, history = _lifecycle(rng, appeal_id, received, now, rng.choice(context.places),
                                     rng.choice(context.categories), context.departments, context.deadlines,
                                     tier.stall_share)
        assert len(history) <= EVENT_IDS_PER_APPEAL
        for data, when, from_state, to_state, label in history:
            events.append(ev.Event(id=event_id, appeal_id=appeal_id, data=data, from_state=from_state,
                                   to_state=to_state, actor_label=label, at=when))
            event_id += 1
        event_id = context.first_event_id + (first + len(appeals) + 1) * EVENT_IDS_PER_APPEAL
        appeals.append(appeal)
        states[appeal["state"]] = states.get(appeal["state"], 0) + 1
        appeal_id += 1
    result = {"appeals": len(appeals), "events": len(events), "states": states}
    with transaction.atomic():
        copy_rows(Appeal, appeals)
        ev.load_history(events)
        _state_put(f"chunk:{number}", result)
    return result


def _chunk_seed_in_worker(chunk: tuple[int, int, int]) -> dict:
    try:
        return _chunk_seed(chunk)
    finally:
        from django.db import connections

        connections.close_all()


def appeals_seed(tier: Tier, *, now: datetime, workers: int = 1,
                 progress: Callable[[int], None] = lambda n: None) -> dict:
    """``tier.appeals`` appeals received uniformly over the year before ``now``, each
    with its event history, chunk by chunk (the chunks already marked done are skipped),
    in ``workers`` processes; returns counts by state and the number of events."""
    global _CONTEXT
    from appeals.models import Appeal, AppealEvent

    done = {key: value for key, value in _state_all().items() if key.startswith("chunk:")}
    todo = [chunk for chunk in _chunks(tier) if f"chunk:{chunk[0]}" not in done]
    results = list(done.values())
    progress(sum(r["appeals"] for r in results))
    if todo:
        _CONTEXT = _Context(tier, now)
        ids = _state_all().get("ids")
        if ids:  # resumed: the ids continue from the first run's, not from the table's end
            _CONTEXT.first_appeal_id, _CONTEXT.first_event_id = ids["appeal"], ids["event"]
        else:
            _state_put("ids", {"appeal": _CONTEXT.first_appeal_id, "event": _CONTEXT.first_event_id})
        if workers > 1:
            import multiprocessing

            from django.db import connections

            connections.close_all()  # each process opens its own connection
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for result in pool.imap_unordered(_chunk_seed_in_worker, todo):
                    results.append(result)
                    progress(result["appeals"])
        else:
            for chunk in todo:
                results.append(_chunk_seed(chunk))
                progress(results[-1]["appeals"])
        _CONTEXT = None
    sequence_reset(Appeal, AppealEvent)
    states: dict[str, int] = {}
    for result in results:
        for state, n in result["states"].items():
            states[state] = states.get(state, 0) + n
    return {"appeals": sum(states.values()), "events": sum(r["events"] for r in results), "states": states}


# --- the seed's state: steps and chunks done, so that a run that stops resumes ---------------

STATE_TABLE = "bench_seed_state"


def _state_table() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key varchar(200) PRIMARY KEY, value text NOT NULL)")


def _state_all() -> dict:
    import json

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, value FROM {STATE_TABLE}")
        return {key: json.loads(value) for key, value in cursor.fetchall()}


def _state_put(key: str, value) -> None:
    import json

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {STATE_TABLE} WHERE key = %s", [key])
        cursor.execute(f"INSERT INTO {STATE_TABLE} (key, value) VALUES (%s, %s)",
                       [key, json.dumps(value, ensure_ascii=False, default=str)])


def _tracking_code(rng: random.Random) -> str:
    return "".join(rng.choice(TRACKING_ALPHABET) for _ in range(12))


def _resolution(resolved: datetime, category, staff: str) -> list[tuple]:
    """办结, the on-site check (核查) where the category needs it, then the SMS feedback."""
    from appeals import events as ev
    from appeals.enums import AppealState

    steps = [(ev.Resolve(), resolved, AppealState.IN_PROGRESS, AppealState.RESOLVED, staff)]
    if category.needs_verification:
        resolved += timedelta(hours=2)
        steps.append((ev.VerifyPass(), resolved, AppealState.RESOLVED, AppealState.RESOLVED, staff))
    steps.append((ev.Feedback(method="sms"), resolved + timedelta(minutes=5), AppealState.RESOLVED, AppealState.AWAITING_EVALUATION,
                  ev.SYSTEM_LABEL))
    return steps


def _lifecycle(rng, appeal_id, received, now, place, category, departments, deadlines, stall_share):
    """One appeal's row and its events up to ``now``."""
    from appeals import events as ev
    from appeals.enums import AppealAction, AppealState, Rating

    (building_id, building_code, address, grid_code, grid_name, community_code, community_name,
     street_code, street_name, district_code) = place
    level = category.default_level
    handler = {"grid": (grid_code, f"{community_name}{grid_name}"), "community": (community_code, community_name),
               "street": (street_code, street_name)}
    department = None
    if level == "department":
        department = departments.get((district_code, category.department_kind))
        if department is None:  # a kind the district lacks: its street dispatches it
            level = "street"
    unit_code, unit_name = (department[1], department[2]) if department else handler[level]
    staff = f"{unit_name}·{'网格员' if level == 'grid' else '工作人员'}"

    dispatched = received + timedelta(minutes=rng.uniform(2, 30))
    response_deadline = dispatched + timedelta(hours=category.response_hours)
    deadline = deadlines.of(category, dispatched)
    span = max((deadline - dispatched).total_seconds(), 3600)
    contact = dispatched + timedelta(hours=rng.uniform(0.2, category.response_hours * (1.0 if rng.random() < 0.9 else 1.5)))
    system = ev.SYSTEM_LABEL
    plan = [
        (ev.Receive(source="phone", seeded="bench"), received, "", AppealState.RECEIVED, system),
        (ev.Dispatch(unit_level=level, unit_code=unit_code, unit=unit_name, category=category.code, automatic=True),
         dispatched, AppealState.RECEIVED, AppealState.DISPATCHED, system),
        (ev.Sign(), contact, AppealState.DISPATCHED, AppealState.IN_PROGRESS, staff),
        (ev.Contact(first=True), contact + timedelta(seconds=1), AppealState.IN_PROGRESS, AppealState.IN_PROGRESS, staff),
    ]
    stalled = rng.random() < stall_share
    rating, solved = "", None
    if not stalled:
        resolved = dispatched + timedelta(seconds=span * (rng.uniform(0.2, 0.95) if rng.random() < 0.88 else rng.uniform(1.05, 1.6)))
        plan += _resolution(resolved, category, staff)
        evaluated = resolved + timedelta(hours=rng.uniform(2, 48))
        if rng.random() < 0.08:  # unsatisfied: one round of rework
            plan.append((ev.Evaluate(solved=False, rating=Rating.UNSATISFIED, comment="问题没有解决", rework=True),
                         evaluated, AppealState.AWAITING_EVALUATION, AppealState.IN_PROGRESS, ev.RESIDENT_LABEL))
            resolved = evaluated + timedelta(hours=rng.uniform(6, 72))
            evaluated = resolved + timedelta(hours=rng.uniform(2, 24))
            plan += _resolution(resolved, category, staff)
        if rng.random() < 0.08:
            plan.append((ev.CloseUnevaluated(), resolved + timedelta(days=7, hours=1), AppealState.AWAITING_EVALUATION, AppealState.CLOSED,
                         system))
        else:
            rating = rng.choice([Rating.SATISFIED] * 6 + [Rating.BASICALLY] * 3 + [Rating.UNSATISFIED])
            solved = rating != Rating.UNSATISFIED
            plan.append((ev.Evaluate(solved=solved, rating=rating, rework=False), evaluated, AppealState.AWAITING_EVALUATION,
                         AppealState.CLOSED, ev.RESIDENT_LABEL))
    history = [e for e in plan if e[1] < now]
    actions = [e[0].action for e in history]
    state = history[-1][3]
    closed = state == AppealState.CLOSED
    last_resolve = max((e[1] for e in history if e[0].action == AppealAction.RESOLVE), default=None)
    last_feedback = max((e[1] for e in history if e[0].action == AppealAction.FEEDBACK), default=None)
    resolved_now = state in (AppealState.RESOLVED, AppealState.AWAITING_EVALUATION, AppealState.CLOSED)
    has_dispatch = AppealAction.DISPATCH in actions
    appeal = {
        "id": appeal_id, "tracking_code": _tracking_code(rng), "category_id": category.id,
        "description": rng.choice(DESCRIPTIONS), "source": "phone", "building_id": building_id,
        "address_text": address, "district_id": district_code, "street_id": street_code,
        "community_id": community_code, "grid_id": grid_code, "territory_code": building_code,
        "name": "", "anonymous": False, "phone": f"13{rng.randrange(10**9):09d}", "state": state,
        "handling_level": level if has_dispatch else "",
        "handling_grid_id": grid_code if has_dispatch and level == "grid" else None,
        "handling_community_id": community_code if has_dispatch and level == "community" else None,
        "handling_street_id": street_code if has_dispatch and level == "street" else None,
        "handling_department_id": department[0] if has_dispatch and department else None,
        "queue_level": "" if has_dispatch else "community", "dispatcher_level": "", "dispatched_by_id": None,
        "escalation_level": ("" if level == "department" else level) if has_dispatch else "",
        "level_deadline": deadline if has_dispatch else None,
        "response_deadline": response_deadline if has_dispatch else None,
        "deadline": deadline if has_dispatch else None,
        "first_contact_at": contact if AppealAction.CONTACT in actions else None,
        "dispatched_at": dispatched if has_dispatch else None,
        "resolved_at": last_resolve if resolved_now else None,
        "feedback_at": last_feedback if state in (AppealState.AWAITING_EVALUATION, AppealState.CLOSED) else None,
        "closed_at": history[-1][1] if closed else None,
        "escalated_at": None, "warned_level_deadline": None, "last_reminded_at": None, "deferred": False,
        "result": "已现场处理完毕" if resolved_now else "",
        "verified": resolved_now and AppealAction.VERIFY_PASS in actions[-4:],
        "rating": rating if closed else "", "solved": solved if closed else None, "evaluation_comment": "",
        "rework_count": sum(1 for e in history if e[0].action == AppealAction.EVALUATE and e[3] == AppealState.IN_PROGRESS),
        "flagged_for_supervisor": False, "merged_into_id": None, "claimed_by_id": None,
        "version": len(history), "created_at": received, "updated_at": history[-1][1],
    }
    return appeal, history


# --- indexes after the load (PostgreSQL) ---------------------------------------------------------
# COPY into the appeals and events tables with their secondary indexes and foreign-key
# triggers in place costs several index insertions and lookups per row; a large tier drops
# them first (their definitions kept in the seed's state) and builds each once at the end.


def _index_tables() -> list[str]:
    from appeals.models import Appeal, AppealEvent

    return [Appeal._meta.db_table, AppealEvent._meta.db_table]


def indexes_defer() -> int:
    """Drop the appeals' and events' secondary indexes (and unique constraints) and
    disable their triggers, keeping each definition; idempotent. Returns how many."""
    from django.db import connection

    tables = _index_tables()
    state = _state_all()
    if "indexes" not in state:
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT t.relname, i.relname, pg_get_indexdef(i.oid), con.conname, pg_get_constraintdef(con.oid)
                     FROM pg_index x
                     JOIN pg_class i ON i.oid = x.indexrelid
                     JOIN pg_class t ON t.oid = x.indrelid
                LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.contype IN ('u', 'x')
                    WHERE t.relname = ANY(%s) AND NOT x.indisprimary
                 ORDER BY t.relname, i.relname""", [tables])
            items = [{"table": table, "index": index, "constraint": constraint or "",
                      "create": f'ALTER TABLE "{table}" ADD CONSTRAINT "{constraint}" {condef}' if constraint else ddl}
                     for table, index, ddl, constraint, condef in cursor.fetchall()]
        _state_put("indexes", items)
    else:
        items = state["indexes"]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)", [tables])
        present = {name for (name,) in cursor.fetchall()}
        for item in items:
            if item["index"] in present:
                cursor.execute(f'ALTER TABLE "{item["table"]}" DROP CONSTRAINT "{item["constraint"]}"' if item["constraint"]
                               else f'DROP INDEX "{item["index"]}"')
        for table in tables:
            cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER ALL')
    return len(items)


def indexes_restore(*, progress: Callable[[int], None] = lambda n: None) -> int:
    """Build the indexes ``indexes_defer`` dropped (each one it has not built yet: a run
    that stops here resumes here) and enable the tables' triggers again."""
    from django.db import connection

    tables = _index_tables()
    items = _state_all().get("indexes", [])
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)", [tables])
        present = {name for (name,) in cursor.fetchall()}
        for item in items:
            if item["index"] not in present:
                cursor.execute(item["create"])
            progress(1)
        for table in tables:
            cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER ALL')
    return len(items)


def disk_needed(tier: Tier) -> int:
    """Bytes a tier's database needs, with room for the index builds' sorting: tier M
    took 3.36 GB (1,000,000 appeals and 6.9 million events, 3,000,000 households)."""
    return int(tier.appeals * 3_000 + tier.households * 220 + 2 * 2**30)


def city_seed(tier: Tier, *, now: datetime | None = None, stdout=None, progress_bar: bool = True,
              workers: int = 1) -> dict:
    """Seed a whole tier into the current database (empty of territory), step by step,
    each step marked done in the seed's state table (a run that stops resumes at the
    step, and at the chunk of appeals, where it stopped). Steps: 1. the responsibility
    list; 2. the territory with its households (one transaction); 3. the accounts and
    tokens; 4. at a tier that defers them, the appeals' and events' indexes dropped;
    5. the appeals and events, chunk by chunk, in ``workers`` processes (PostgreSQL);
    6. the indexes built again; 7. ANALYZE, so that the planner knows the sizes."""
    from django.db import connection
    from tqdm import tqdm

    from appeals.demo import categories_load
    from grids.models import Building

    postgresql = connection.vendor == "postgresql"
    _state_table()
    state = _state_all()
    if state and not Building.objects.exists():  # the tables were emptied since: start again
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {STATE_TABLE}")
        state = {}
    if "now" in state:  # resumed: the same year of appeals as the first run's
        now = datetime.fromisoformat(state["now"])
    else:
        now = now or timezone.now()
        _state_put("now", now.isoformat())
    categories_load()
    if "territory" in state:
        counts = dict(state["territory"])
    else:
        with transaction.atomic(), tqdm(total=tier.households, unit="户", desc=f"{tier.name} 住户",
                                        disable=not progress_bar) as bar:
            counts = territory_seed(tier, progress=bar.update)
            _state_put("territory", counts)
    tokens = accounts_seed()
    deferred = tier.defer_indexes and postgresql
    if deferred:
        indexes_defer()
    with tqdm(total=tier.appeals, unit="件", desc=f"{tier.name} 诉求", disable=not progress_bar) as bar:
        counts.update(appeals_seed(tier, now=now, workers=workers if postgresql else 1, progress=bar.update))
    if deferred:
        with tqdm(total=len(_state_all().get("indexes", [])), unit="个", desc=f"{tier.name} 索引",
                  disable=not progress_bar) as bar:
            indexes_restore(progress=bar.update)
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    counts["accounts"] = sorted(tokens)
    _state_put("done", True)
    return counts


def seed_state() -> dict:
    """The seed's state table as a dict ({} where no seed of this code has run)."""
    from django.db import connection

    if STATE_TABLE not in connection.introspection.table_names():
        return {}
    return _state_all()
