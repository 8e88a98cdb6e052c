"""Migration 0007: the workday overrides become calendar days (调整, their note as name),
and the appeal's deadline inputs arrive empty (rows dispatched before derive them)."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("appeals", "0008_open311_address_unclear_and_point")]
AFTER = [("appeals", "0009_calendar_deadline_inputs")]


@pytest.fixture
def back_to_the_latest_schema():
    """The tests after this one need every migration applied, not just AFTER."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_overrides_become_calendar_days(back_to_the_latest_schema):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Override = old.get_model("appeals", "WorkdayOverride")
    Override.objects.create(date=date(2027, 1, 1), is_workday=False, note="元旦")
    Override.objects.create(date=date(2027, 1, 2), is_workday=True, note="调休上班：按当地政府通知，周六补班" * 2)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    Day = new.get_model("appeals", "CalendarDay")
    rows = list(Day.objects.order_by("date").values("date", "is_workday", "source", "name", "note"))
    long_note = "调休上班：按当地政府通知，周六补班" * 2
    assert rows == [
        {"date": date(2027, 1, 1), "is_workday": False, "source": "override", "name": "元旦", "note": ""},
        {"date": date(2027, 1, 2), "is_workday": True, "source": "override", "name": long_note[:30], "note": long_note},
    ]
    Appeal = new.get_model("appeals", "Appeal")
    assert {"deadline_start", "deadline_limit", "deadline_unit", "deadline_extension_days"} <= {
        f.name for f in Appeal._meta.get_fields()}
