"""What one public intake costs (issue 8): its queries are bounded, the appeal is written
once (inserted already dispatched, no UPDATE and no re-read), the API's answer is the one
a fresh read gives, and a tracking-code collision is retried."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from appeals.enums import AppealAction, AppealState, EscalationLevel, HandlingLevel
from appeals.models import Appeal, AppealEvent
from appeals.services import intake
from appeals.workdays import add_working_days
from tests.appeals.factories import (
    community_category,
    component_department_category,
    event_department_category,
    grid_category,
    receive,
)

pytestmark = pytest.mark.django_db
S = AppealState

# building; in the test's transaction SAVEPOINT, INSERT appeal, INSERT events, INSERT the
# SMS's outbox row, RELEASE (in production: BEGIN, INSERT, INSERT, INSERT, COMMIT).
# Categories, departments and workday overrides come from appeals.catalog.
INTAKE_MAX_QUERIES = 6


def _post(city, client, *, category: str, phone: str, building=None):
    body = {"category": category, "building": (building or city.building_a1).code,
            "description": "楼下垃圾堆放多日无人清理", "phone": phone}
    return client.post("/api/v1/appeals/", body, format="json")


@pytest.mark.parametrize("make_category", [grid_category, community_category, component_department_category,
                                           event_department_category])
def test_api_intake_queries_are_bounded(city, make_category, django_assert_max_num_queries):
    category = make_category()
    client = APIClient(enforce_csrf_checks=True)
    assert _post(city, client, category=category.code, phone="13800000001").status_code == 201  # loads the catalog
    for i in range(2, 5):
        with django_assert_max_num_queries(INTAKE_MAX_QUERIES):
            response = _post(city, client, category=category.code, phone=f"1380000000{i}")
        assert response.status_code == 201, response.content
    # The answer is what a fresh read of the appeal says.
    body = response.json()
    appeal = Appeal.objects.get(tracking_code=body["tracking_code"])
    assert body == {"tracking_code": appeal.tracking_code, "state": appeal.state,
                    "state_label": appeal.get_state_display(), "handling_unit": appeal.handling_unit_name,
                    "photos_not_stored": []}
    assert appeal.state == S.DISPATCHED


def test_a_routed_appeal_is_inserted_dispatched_with_both_events(city):
    category = grid_category()
    receive(city, category=category)  # loads the catalog
    with CaptureQueriesContext(connection) as queries:
        appeal = receive(city, category=category)
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if s.startswith("UPDATE")]
    assert len([s for s in sql if s.startswith('INSERT INTO "appeals_appeal"')]) == 1
    event_insert = f'INSERT INTO "{AppealEvent._meta.db_table}"'
    assert len([s for s in sql if s.startswith(event_insert)]) == 1  # both events at once
    assert not [s for s in sql if s.startswith("SELECT")]  # no re-read, no catalog query

    stored = Appeal.objects.get(pk=appeal.pk)
    assert (stored.state, stored.version, stored.handling_level, stored.handling_grid_id, stored.queue_level) == (
        S.DISPATCHED, 2, HandlingLevel.GRID, city.grid_a1.code, "")
    assert (stored.escalation_level, stored.dispatcher_level, stored.dispatched_by) == (EscalationLevel.GRID, "", None)
    assert stored.dispatched_at == appeal.dispatched_at
    assert stored.deadline == stored.level_deadline == add_working_days(stored.dispatched_at, 7)
    receive_event, dispatch_event = AppealEvent.objects.filter(appeal=stored)
    assert (receive_event.action, receive_event.from_state, receive_event.to_state) == (
        AppealAction.RECEIVE, "", S.RECEIVED)
    assert (dispatch_event.action, dispatch_event.from_state, dispatch_event.to_state) == (
        AppealAction.DISPATCH, S.RECEIVED, S.DISPATCHED)
    assert dispatch_event.actor_label == "系统" and dispatch_event.actor is None
    assert dispatch_event.data == {"automatic": True, "unit": city.grid_a1.name, "level": "grid",
                                   "category": "01001", "unit_level": "grid", "unit_code": city.grid_a1.code}
    assert receive_event.created_at <= dispatch_event.created_at


def test_an_appeal_left_for_dispatch_by_hand_is_inserted_received(city):
    appeal = receive(city, category=None)
    stored = Appeal.objects.get(pk=appeal.pk)
    assert (stored.state, stored.version, stored.handling_level) == (S.RECEIVED, 1, "")
    assert list(stored.events.values_list("action", flat=True)) == [AppealAction.RECEIVE]


def test_a_tracking_code_collision_is_retried_with_a_new_code(city, monkeypatch):
    category = grid_category()
    first = receive(city, category=category)
    field = Appeal._meta.get_field("tracking_code")
    monkeypatch.setattr(field, "_get_default", lambda: first.tracking_code)  # Field.get_default() calls it
    fresh = iter(["23456789ABCD"])
    monkeypatch.setattr(intake, "new_tracking_code", lambda: next(fresh))
    second = receive(city, category=category)
    assert second.tracking_code == "23456789ABCD"
    assert Appeal.objects.count() == 2 and second.events.count() == 2
    assert Appeal.objects.get(pk=second.pk).state == S.DISPATCHED
