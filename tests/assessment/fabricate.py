"""Fabricated appeals with their event logs, written in bulk (fast, any size).

An appeal here is a place, a deadline and a list of events (action, time, data,
to_state); the scoring reads only the event log and those fields, so the appeals do not
need to go through the workflow. Times are China time unless aware.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from appeals.enums import AppealState, Source
from appeals.models import Appeal, AppealEvent
from grids.models import Community, Department, Grid, Street

CHINA = ZoneInfo("Asia/Shanghai")


def at(year, month, day, hour=12, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHINA)


def dispatch(unit, when, **extra):
    level = {Grid: "grid", Community: "community", Street: "street", Department: "department"}[type(unit)]
    return ("dispatch", when, {"unit": str(unit), "level": level, "category": "01001", **extra}, AppealState.DISPATCHED)


def contact(when):
    return ("contact", when, {"first": True}, AppealState.IN_PROGRESS)


def resolve(when):
    return ("resolve", when, {"photos": 0}, AppealState.RESOLVED)


def evaluate(when, *, solved=True, rating="satisfied"):
    if rating == "unsatisfied":
        return ("evaluate", when, {"solved": solved, "rating": rating, "comment": "", "rework": True},
                AppealState.IN_PROGRESS)
    return ("evaluate", when, {"solved": solved, "rating": rating, "comment": ""}, AppealState.CLOSED)


def escalate(when, *, to_level, code, from_level="grid", from_code=""):
    return ("escalate", when, {"from": from_level, "to": to_level, "automatic": True,
                               "handler": {"from": [from_level, from_code], "to": [to_level, code]}},
            AppealState.IN_PROGRESS)


def extend_approve(when):
    return ("extend_approve", when, {}, AppealState.IN_PROGRESS)


def make(*, place, deadline, events, response_deadline=None, state=AppealState.IN_PROGRESS):
    """One appeal spec: ``place`` is a Grid (or Community/Street), ``events`` as built above."""
    return {"place": place, "deadline": deadline, "events": events,
            "response_deadline": response_deadline or (events[0][1] + timedelta(hours=24)), "state": state}


def fabricate(specs: list[dict]) -> list[Appeal]:
    """Create the appeals and their events in bulk; event times are set afterwards (the
    field is auto_now_add), one UPDATE per distinct time."""
    appeals = []
    for spec in specs:
        place = spec["place"]
        grid = place if isinstance(place, Grid) else None
        community = grid.community if grid else (place if isinstance(place, Community) else None)
        street = community.street if community else place
        contact_at = next((e[1] for e in spec["events"] if e[0] == "contact"), None)
        appeals.append(Appeal(
            description="测试诉求", source=Source.WEB, phone="13812345678",
            district_id=street.district_id, street=street, community=community, grid=grid,
            territory_code=place.code, state=spec["state"], deadline=spec["deadline"],
            level_deadline=spec["deadline"], response_deadline=spec["response_deadline"],
            first_contact_at=contact_at, dispatched_at=spec["events"][0][1],
        ))
    Appeal.objects.bulk_create(appeals, batch_size=1000)
    events, times = [], []
    for appeal, spec in zip(appeals, specs, strict=True):
        for action, when, data, to_state in spec["events"]:
            events.append(AppealEvent(appeal=appeal, action=action, actor_label="系统", to_state=to_state, data=data))
            times.append(when)
    AppealEvent.objects.bulk_create(events, batch_size=1000)
    by_time = defaultdict(list)
    for event, when in zip(events, times, strict=True):
        by_time[when].append(event.pk)
    for when, pks in by_time.items():
        AppealEvent.objects.filter(pk__in=pks).update(created_at=when)
    return appeals


def add_events(appeal: Appeal, *events) -> None:
    fabricate_events = [AppealEvent(appeal=appeal, action=a, actor_label="居民", to_state=s, data=d)
                        for a, _w, d, s in events]
    AppealEvent.objects.bulk_create(fabricate_events)
    for event, (_a, when, _d, _s) in zip(fabricate_events, events, strict=True):
        AppealEvent.objects.filter(pk=event.pk).update(created_at=when)
