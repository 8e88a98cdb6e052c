"""Fabricated appeals with their event logs, written in bulk (fast, any size).

An appeal here is a place, a deadline and a list of events (action, time, data,
to_state); the scoring reads only the event log and those fields, so the appeals do not
need to go through the workflow. Times are China time unless aware.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from appeals import events as ev
from appeals.enums import AppealState, Source
from appeals.models import Appeal
from grids.models import Community, Grid, unit_level

CHINA = ZoneInfo("Asia/Shanghai")


def at(year, month, day, hour=12, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHINA)


def dispatch(unit, when, **extra):
    level = unit_level(unit)
    data = ev.Dispatch(unit_level=level, unit_code=unit.code, unit=str(unit), category="01001", **extra)
    return (data, when, AppealState.DISPATCHED)


def contact(when):
    return (ev.Contact(first=True), when, AppealState.IN_PROGRESS)


def resolve(when):
    return (ev.Resolve(), when, AppealState.RESOLVED)


def evaluate(when, *, solved=True, rating="satisfied"):
    if rating == "unsatisfied":
        return (ev.Evaluate(solved=solved, rating=rating, rework=True), when, AppealState.IN_PROGRESS)
    return (ev.Evaluate(solved=solved, rating=rating), when, AppealState.CLOSED)


def escalate(when, *, to_level, code, from_level="grid", from_code=""):
    data = ev.Escalate(from_level=from_level, to_level=to_level, automatic=True, level_deadline=when,
                       handler={"from": [from_level, from_code], "to": [to_level, code]},
                       unit_level=to_level, unit_code=code)
    return (data, when, AppealState.IN_PROGRESS)


def extend_approve(when):
    return (ev.ExtendApprove(extension=0, requested_deadline=when, deadline=(None, when)), when,
            AppealState.IN_PROGRESS)


def make(*, place, deadline, events, response_deadline=None, state=AppealState.IN_PROGRESS):
    """One appeal spec: ``place`` is a Grid (or Community/Street), ``events`` as built above."""
    return {"place": place, "deadline": deadline, "events": events,
            "response_deadline": response_deadline or (events[0][1] + timedelta(hours=24)), "state": state}


def fabricate(specs: list[dict]) -> list[Appeal]:
    """Create the appeals in bulk and their events through the event writer, each at its time."""
    appeals = []
    for spec in specs:
        place = spec["place"]
        grid = place if isinstance(place, Grid) else None
        community = grid.community if grid else (place if isinstance(place, Community) else None)
        street = community.street if community else place
        contact_at = next((e[1] for e in spec["events"] if e[0].action == ev.Contact.action), None)
        appeals.append(Appeal(
            description="测试诉求", source=Source.WEB, phone="13812345678",
            district_id=street.district_id, street=street, community=community, grid=grid,
            territory_code=place.code, state=spec["state"], deadline=spec["deadline"],
            level_deadline=spec["deadline"], response_deadline=spec["response_deadline"],
            first_contact_at=contact_at, dispatched_at=spec["events"][0][1],
            # A waiting appeal waits in a queue (a return leaves it in the community's).
            queue_level="community" if spec["state"] == AppealState.RECEIVED else "",
        ))
    Appeal.objects.bulk_create(appeals, batch_size=1000)
    ev.load_history([
        ev.Event(appeal_id=appeal.pk, data=data, from_state=from_state, to_state=to_state, at=when)
        for appeal, spec in zip(appeals, specs, strict=True)
        for (data, when, to_state), from_state in zip(spec["events"], _from_states(spec["events"]), strict=True)
    ])
    return appeals


def _from_states(events) -> list[str]:
    """Each event's from_state, as the services write it: the state the one before led to
    (the first: received, which intake's receive event leads to)."""
    states, previous = [], AppealState.RECEIVED
    for _data, _when, to_state in events:
        states.append(previous)
        previous = to_state
    return states


def add_events(appeal: Appeal, *events) -> None:
    ev.load_history([ev.Event(appeal_id=appeal.pk, data=data, from_state="", to_state=to_state, at=when,
                              actor_label=ev.RESIDENT_LABEL) for data, when, to_state in events])
