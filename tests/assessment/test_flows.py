"""Daily flows (issue 23): the rollup equals a direct count of the event log and of the
appeals on fabricated data, at every level; the overdue stock is overdue_q's count; the
refresh catches up from the last one and runs as a task."""

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command

from appeals import events as ev
from appeals.enums import AppealAction, AppealState
from appeals.models import Appeal, AppealEvent, Category
from appeals.selectors import OVERDUE_STATES, overdue_q
from governance.assessment import flows, formulas
from governance.assessment.enums import UnitKind
from governance.assessment.models import FLOW_COUNTERS, DailyFlow, FlowRefresh
from governance.assessment.tasks import refresh_flows
from governance.kernel.clock import CHINA
from tests.assessment.fabricate import at, contact, dispatch, evaluate, fabricate, make, resolve

NOW = at(2026, 10, 20, 15, 30)


def receive(when):
    return (ev.Receive(source="web"), when, AppealState.RECEIVED)


def returned(unit, when):
    return (ev.Return(queue="community", unit_level="community", unit_code=unit.code), when, AppealState.RECEIVED)


def withdraw(when):
    return (ev.Withdraw(), when, AppealState.WITHDRAWN)


def _history(city, rng: random.Random):
    """About 120 appeals over three weeks, with every kind of flow and overdue path."""
    places = [city.grid_a1, city.grid_a2, city.grid_b1, city.grid_c1, city.comm_a2, city.street_b]
    specs = []
    for i in range(120):
        place = places[i % len(places)]
        t = at(2026, 10, 1 + rng.randrange(18), rng.randrange(8, 20), rng.randrange(60))
        deadline = at(t.year, t.month, t.day) + timedelta(days=rng.choice([1, 2, 3, 4]))  # 00:00
        events = [receive(t), dispatch(city.grid_a1 if place.code.startswith(city.grid_a1.code[:12]) else city.grid_c1,
                                       t + timedelta(minutes=5))]
        path = (i + i // 6) % 6  # every path at every place
        step = timedelta(hours=rng.choice([3, 20, 50, 90]))
        if path == 0:  # resolved, satisfied, closed (maybe late)
            events += [contact(t + step / 4), resolve(t + step), evaluate(t + step + timedelta(hours=2))]
        elif path == 1:  # unsatisfied → rework, resolved again later
            events += [contact(t + step / 4), resolve(t + step),
                       evaluate(t + step + timedelta(hours=1), rating="unsatisfied", solved=False),
                       resolve(t + step * 2)]
        elif path == 2:  # stalled: overdue once the deadline passes
            events += [contact(t + step / 4)]
        elif path == 3:  # returned, dispatched again (maybe after the deadline)
            events += [returned(city.comm_a, t + step), dispatch(city.grid_a2, t + step * 2)]
        elif path == 4:  # withdrawn
            events += [withdraw(t + step)]
        else:  # escalated, still worked on
            events += [contact(t + step / 4),
                       (ev.Escalate(from_level="grid", to_level="community", automatic=True, level_deadline=t + step,
                                    handler={"from": ["grid", ""], "to": ["community", city.comm_a.code]},
                                    unit_level="community", unit_code=city.comm_a.code),
                        t + step, AppealState.IN_PROGRESS)]
        events = [e for e in events if e[1] < NOW]
        specs.append(make(place=place, deadline=deadline, events=events, state=events[-1][2]))
    appeals = fabricate(specs)
    categories = [Category.objects.create(code=f"0100{n}", class_name="市容", name=f"类别{n}") for n in (1, 2)]
    for n, appeal in enumerate(appeals):
        if n % 3:
            Appeal.objects.filter(pk=appeal.pk).update(category=categories[n % 3 - 1])
    return appeals


def _keys(appeal) -> list[tuple[str, str]]:
    """The units an appeal's flows count for (its place's levels and the city)."""
    keys = [(UnitKind.DISTRICT, appeal.district_id), (UnitKind.CITY, formulas.city_code(appeal.district_id))]
    keys += [(kind, code) for kind, code in ((UnitKind.STREET, appeal.street_id), (UnitKind.COMMUNITY, appeal.community_id),
                                              (UnitKind.GRID, appeal.grid_id)) if code]
    return keys


def _day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def _direct(now: datetime) -> tuple[Counter, dict]:
    """The flows counted one event at a time in Python, and a function giving the overdue
    appeals at a moment from each appeal's state then (its last event at or before it)."""
    counts: Counter = Counter()
    appeals = {a.pk: a for a in Appeal.objects.select_related("category")}
    history: dict[int, list] = {}
    for e in AppealEvent.objects.filter(created_at__lt=now).order_by("created_at", "id"):
        appeal = appeals[e.appeal_id]
        history.setdefault(e.appeal_id, []).append((e.created_at, e.to_state))
        names = []
        if e.action == AppealAction.RECEIVE:
            names.append("received")
        if e.action == AppealAction.DISPATCH:
            names.append("dispatched")
        if e.action == AppealAction.RESOLVE:
            names.append("resolved")
        if e.action == AppealAction.ESCALATE:
            names.append("escalated")
        if e.to_state == AppealState.CLOSED and e.from_state != AppealState.CLOSED:
            names.append("closed")
        if e.action == AppealAction.EVALUATE and e.data.get("rating") == "unsatisfied":
            names += ["unsatisfied", "reworked"]
        for name in names:
            for kind, code in _keys(appeal):
                counts[(kind, code, appeal.category.code if appeal.category else "", _day(e.created_at), name)] += 1
    return counts, {"appeals": appeals, "history": history}


def _overdue_at(state, moment: datetime) -> Counter:
    """overdue_q's rule at ``moment``, from each appeal's state then."""
    found: Counter = Counter()
    for appeal_id, rows in state["history"].items():
        appeal = state["appeals"][appeal_id]
        then = [s for when, s in rows if when <= moment]
        if then and then[-1] in OVERDUE_STATES and appeal.deadline < moment:
            for kind, code in _keys(appeal):
                found[(kind, code, appeal.category.code if appeal.category else "")] += 1
    return found


@pytest.mark.django_db
def test_rollup_equals_a_direct_count_at_every_level(city):
    _history(city, random.Random(23))
    flows.flows_rebuild(first=date(2026, 10, 1), last=date(2026, 10, 20), now=NOW, chunk_days=6)
    counts, state = _direct(NOW)
    stored: Counter = Counter()
    for row in DailyFlow.objects.exclude(unit_kind=UnitKind.DEPARTMENT).values():
        for name in FLOW_COUNTERS[:-2]:
            if row[name]:
                stored[(row["unit_kind"], row["unit_code"], row["category_code"], row["day"], name)] = row[name]
    assert stored == +counts
    assert stored[(UnitKind.CITY, "110100", "", date(2026, 10, 3), "received")] >= 0
    assert sum(v for k, v in counts.items() if k[0] == UnitKind.CITY and k[4] == "received") == 120
    # The overdue appeals at the end of every day: the running sum of the flows in and out.
    for offset in range(20):
        day = date(2026, 10, 1) + timedelta(days=offset)
        end = min(datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=CHINA), NOW)
        expected = _overdue_at(state, end)
        running: Counter = Counter()
        for row in DailyFlow.objects.filter(day__lte=day).exclude(unit_kind=UnitKind.DEPARTMENT).values():
            running[(row["unit_kind"], row["unit_code"], row["category_code"])] += row["overdue_in"] - row["overdue_out"]
        assert +running == +expected, day
    # At the refresh: the appeals overdue_q counts now, unit by unit.
    for kind, code in [(UnitKind.CITY, "110100"), (UnitKind.STREET, city.street_a.code),
                       (UnitKind.COMMUNITY, city.comm_a.code), (UnitKind.GRID, city.grid_a2.code)]:
        direct = Appeal.objects.filter(overdue_q(NOW), territory_code__startswith=code[:4] if kind == UnitKind.CITY
                                       else code).count()
        assert flows.overdue_now(units=[(kind, code)]) == direct
        assert direct > 0 or kind == UnitKind.GRID
    # A unit's categories over a period, from its own rows.
    rows = {r["category_code"]: r for r in flows.unit_category_flows(
        kind=UnitKind.STREET, code=city.street_a.code, first=date(2026, 10, 5), last=date(2026, 10, 11))}
    received = Counter()
    for (kind, code, category, day, name), n in counts.items():
        if kind == UnitKind.STREET and code == city.street_a.code and name == "received" \
                and date(2026, 10, 5) <= day <= date(2026, 10, 11):
            received[category] += n
    assert {c: r["received"] for c, r in rows.items() if r["received"]} == +received


@pytest.mark.django_db
def test_a_refresh_replaces_its_days_and_says_when(city):
    _history(city, random.Random(5))
    first = flows.flows_refresh(first=date(2026, 10, 1), last=date(2026, 10, 20), as_of=NOW)
    before = list(DailyFlow.objects.order_by("unit_kind", "unit_code", "day", "category_code").values())
    again = flows.flows_refresh(first=date(2026, 10, 1), last=date(2026, 10, 20), as_of=NOW)
    after = list(DailyFlow.objects.order_by("unit_kind", "unit_code", "day", "category_code").values())
    assert first.rows == again.rows == len(after) > 0
    assert [{k: v for k, v in r.items() if k != "id"} for r in before] == \
        [{k: v for k, v in r.items() if k != "id"} for r in after]
    assert flows.flows_as_of() == NOW
    # Rows of a department handling appeals, by the department's code.
    assert not DailyFlow.objects.filter(unit_kind=UnitKind.DEPARTMENT).exists()


@pytest.mark.django_db
def test_the_beat_refresh_catches_up_from_the_last_one(city, django_capture_on_commit_callbacks):
    fabricate([make(place=city.grid_a1, deadline=at(2026, 10, 21, 0), events=[
        receive(at(2026, 10, 19, 23, 50)), dispatch(city.grid_a1, at(2026, 10, 19, 23, 55)),
        contact(at(2026, 10, 20, 0, 10))], state=AppealState.IN_PROGRESS)])
    # Yesterday was refreshed at 23:45: the next run, after midnight, completes it.
    FlowRefresh.objects.create(as_of=at(2026, 10, 19, 23, 45), first_day=date(2026, 10, 19),
                               last_day=date(2026, 10, 19), finished_at=at(2026, 10, 19, 23, 45))
    result = refresh_flows.apply(kwargs={"now": at(2026, 10, 20, 0, 20).isoformat()}).get()
    assert result["first"] == "2026-10-19" and result["last"] == "2026-10-20"
    grid = {r.day: r for r in DailyFlow.objects.filter(unit_kind=UnitKind.GRID, unit_code=city.grid_a1.code)}
    assert grid[date(2026, 10, 19)].received == 1 and grid[date(2026, 10, 19)].dispatched == 1
    assert date(2026, 10, 20) not in grid  # the contact is no flow
    assert flows.flows_as_of() == at(2026, 10, 20, 0, 20)
    # The deadline passes (00:00 on the 21st): overdue from that moment, on the 21st's row.
    refresh_flows.apply(kwargs={"now": at(2026, 10, 21, 0, 5).isoformat()}).get()
    assert flows.overdue_now(units=[(UnitKind.GRID, city.grid_a1.code)]) == 1
    assert DailyFlow.objects.get(unit_kind=UnitKind.CITY, day=date(2026, 10, 21)).overdue_in == 1


@pytest.mark.django_db
def test_the_rebuild_command_fills_a_range(city, capsys):
    _history(city, random.Random(7))
    call_command("rebuild_flows", "--from", "2026-10-01", "--to", "2026-10-20", "--now", NOW.isoformat())
    assert DailyFlow.objects.filter(unit_kind=UnitKind.CITY).count() > 10
    assert "2026-10-01" in capsys.readouterr().out
