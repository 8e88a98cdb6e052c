"""The event data's stored form (appeals.events): what to_json writes is what scoring and
the pages read back with ``read``; enums are stored as their values, instants in ISO 8601,
absent values not at all, and a kind's ``KEYS`` rename its fields."""

import dataclasses
import json
import typing
from datetime import UTC, datetime

from appeals import events
from appeals.enums import AppealAction, EscalationLevel


def test_an_escalation_is_stored_as_plain_json_and_read_back():
    at = datetime(2027, 1, 4, 16, 0, tzinfo=UTC)
    data = events.Escalate(
        from_level=EscalationLevel.GRID, to_level=EscalationLevel.COMMUNITY, automatic=True, level_deadline=at,
        handler={"from": ("grid", "110101001001001"), "to": ("community", "110101001001")},
        unit_level="community", unit_code="110101001001",
    )
    stored = data.to_json()
    assert stored == {
        "from": "grid", "to": "community", "automatic": True, "level_deadline": "2027-01-04T16:00:00+00:00",
        "handler": {"from": ["grid", "110101001001001"], "to": ["community", "110101001001"]},
        "unit_level": "community", "unit_code": "110101001001",
    }
    assert "skipped" not in stored  # None is left out
    assert type(stored["from"]) is str  # the enum's value, not the enum
    assert json.loads(data.to_json_text()) == stored  # plain JSON, the bulk INSERT's text the same
    back = events.read(AppealAction.ESCALATE, stored)
    assert (back.from_level, back.to_level, back.unit_code) == ("grid", "community", "110101001001")
    assert back.holder == events.Unit("community", "110101001001")
    assert back.beyond_community is False


def _sample(annotation):
    """A value of the annotated type (the first of a union's that is not None)."""
    for kind in typing.get_args(annotation) or (annotation,):
        if kind is type(None):
            continue
        origin = typing.get_origin(kind) or kind
        return {str: "110101001001", bool: True, int: 3, float: 0.75, dict: {"from": ["grid", "1"]},
                tuple: ("110101-CG",), list: ["a"], datetime: datetime(2027, 1, 4, 16, 0, tzinfo=UTC)}[origin]
    raise AssertionError(annotation)


def test_every_kind_reads_back_what_it_writes():
    checked = 0
    for action, kind in events.DATA_OF.items():
        hints = typing.get_type_hints(kind)
        instance = kind(**{f.name: _sample(hints[f.name]) for f in dataclasses.fields(kind)})
        stored = instance.to_json()
        assert len(stored) >= len(dataclasses.fields(kind)), action  # every field written (Dispatch adds "level")
        json.dumps(stored)
        assert events.read(action, stored).to_json() == stored, action
        assert json.loads(instance.to_json_text()) == stored, action  # the bulk INSERT's text
        checked += 1
    assert checked == len(events.DATA_OF) > 20
