"""The admin shows appeals, their events and extension requests, and changes none of
them (every change goes through the services: the table, the event log)."""

from datetime import timedelta

import pytest

from appeals import extensions
from tests.appeals.factories import grid_category, receive
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_appeal_rows_are_read_only_in_the_admin(city, client):
    appeal = receive(city, category=grid_category())
    request = extensions.extension_request(actor=city.users.grid_worker, appeal=appeal, reason="需协调",
                                           requested_deadline=appeal.deadline + timedelta(days=2))
    event = appeal.events.first()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    for model, pk, field in (("appeal", appeal.pk, "description"), ("appealevent", event.pk, "note"),
                             ("extensionrequest", request.pk, "reason")):
        assert client.get(f"/admin/appeals/{model}/").status_code == 200, model
        page = client.get(f"/admin/appeals/{model}/{pk}/change/")
        assert page.status_code == 200 and f'name="{field}"' not in page.content.decode(), model
        assert client.get(f"/admin/appeals/{model}/add/").status_code == 403, model
        assert client.post(f"/admin/appeals/{model}/{pk}/delete/", {"post": "yes"}).status_code == 403, model
    assert appeal.events.count() == 3  # receive, dispatch, extend_request: nothing added or removed
