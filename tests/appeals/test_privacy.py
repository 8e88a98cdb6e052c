"""One personal-data policy (appeals.selectors.resident_contact): the staff page and the
API show a resident's phone and name the same way for every role and every state, and a
full view is logged once per look."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from appeals.enums import AppealState
from appeals.models import Appeal
from governance.models import AccessLog
from tests.appeals.factories import grid_category, receive

pytestmark = pytest.mark.django_db

FULL, MASKED = "13812345678", "138****5678"
ROLES = ["grid_worker", "grid_worker2", "community_worker", "street_officer", "supervisor", "district_supervisor",
         "department_handler", "outsider"]
STATES = [AppealState.DISPATCHED, AppealState.IN_PROGRESS, AppealState.AWAITING_EVALUATION, AppealState.CLOSED,
          AppealState.DECLINED, AppealState.WITHDRAWN]
# Who takes part in handling an appeal of grid A1 handled by that grid: the grid's
# worker, its community, its street (appeals.permissions.takes_part).
TAKE_PART = {"grid_worker", "community_worker", "street_officer"}


@pytest.mark.parametrize("state", STATES)
def test_the_page_and_the_api_show_the_resident_alike(city, client, login, state):
    appeal = receive(city, category=grid_category(), name="王小明")
    Appeal.objects.filter(pk=appeal.pk).update(state=state, closed_at=timezone.now())
    for role in ROLES:
        user = getattr(city.users, role)
        login(user)
        logged = AccessLog.objects.count()
        page = client.get(reverse("appeals:detail", args=[appeal.tracking_code]))
        api = APIClient()
        api.force_authenticate(user)
        answer = api.get(f"/api/v1/appeals/{appeal.tracking_code}/")
        assert page.status_code == answer.status_code, role
        if page.status_code == 404:
            assert role in ("grid_worker2", "department_handler", "outsider")
            continue
        html = page.content.decode()
        full = role in TAKE_PART and state not in (AppealState.CLOSED, AppealState.DECLINED, AppealState.WITHDRAWN)
        assert answer.json()["phone"] == (FULL if full else MASKED), (role, state)
        assert answer.json()["name"] == ("王小明" if full else "王*明"), (role, state)
        assert (FULL in html) is full and ("王小明" in html) is full, (role, state, "page")
        if not full:
            assert MASKED in html and "王*明" in html, (role, state)
        # One access-log line per full view (the page's and the API's), none for a masked one.
        assert AccessLog.objects.count() - logged == (2 if full else 0), (role, state)


def test_lists_and_action_answers_always_mask(city):
    appeal = receive(city, category=grid_category(), name="王小明")
    api = APIClient()
    api.force_authenticate(city.users.grid_worker)
    row = next(r for r in api.get("/api/v1/appeals/").json()["results"] if r["tracking_code"] == appeal.tracking_code)
    assert (row["phone"], row["name"]) == (MASKED, "王*明")
    answer = api.post(f"/api/v1/appeals/{appeal.tracking_code}/sign/", {}, format="json").json()
    assert (answer["phone"], answer["name"]) == (MASKED, "王*明")
    assert not AccessLog.objects.exists()
