"""The workflow table (appeals.workflow): every action people take has a page form and an
API endpoint; one function answers 404, 409, 403 in that order for pages, API and services."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from appeals import workflow
from appeals.apis import ACTIONS, ENDPOINTS
from appeals.enums import AppealAction, AppealState
from appeals.forms import ACTION_FORMS
from appeals.services import SERVICES
from governance.kernel.errors import ActionForbidden, Conflict, NotFound
from tests.appeals.factories import grid_category, receive

A = AppealAction
pytestmark = pytest.mark.django_db

# The actions taken elsewhere than the appeal page's forms and the staff action API, with
# the page and the API endpoint (URL names) that take them.
ELSEWHERE = {
    A.WITHDRAW: ("public:track-withdraw", "api-track"),
    A.EVALUATE: ("public:track-evaluate", "api-track"),
    A.SUPPLEMENT: ("public:track-supplement", "api-track"),
    A.CLAIM: ("volunteers:hall-claim", "api-volunteers-hall-claim"),
    A.EXTEND_APPROVE: ("appeals:extension-decide", "api-extension-approve"),
    A.EXTEND_REJECT: ("appeals:extension-decide", "api-extension-reject"),
    A.SUPERVISE: ("reports:supervision-notes", "api-appeal-supervise"),
}
_ARGS = {"public:track-withdraw": ["X"], "public:track-evaluate": ["X"], "api-track": ["X"], "public:track-supplement": ["X"],
         "volunteers:hall-claim": ["X"], "api-volunteers-hall-claim": ["X"], "appeals:extension-decide": [1, "approve"],
         "api-extension-approve": [1], "api-extension-reject": [1], "reports:supervision-notes": ["X"],
         "api-appeal-supervise": ["X"]}


def test_every_action_people_take_has_a_page_form_and_an_api_endpoint():
    for action, step in workflow.TABLE.items():
        if step.system_only:
            assert action not in ACTION_FORMS and action not in SERVICES, action
            continue
        if action in ELSEWHERE:
            page, api = ELSEWHERE[action]
            assert reverse(page, args=_ARGS[page]) and reverse(api, args=_ARGS[api]), action
            continue
        assert action in ACTION_FORMS, f"{action}: no form on the appeal page"
        assert action in SERVICES, f"{action}: no service"
        segment = ENDPOINTS[action]
        assert segment in ACTIONS or segment in ("escalate", "extensions"), f"{action}: no API endpoint"
        assert reverse(f"api-appeal-{segment}" if segment in ACTIONS else {
            "escalate": "api-appeal-escalate", "extensions": "api-appeal-extension-request"}[segment], args=["X"])


def test_the_table_names_each_action_once_with_its_states_and_parties():
    assert set(workflow.TABLE) == set(AppealAction)
    for action, step in workflow.TABLE.items():
        assert step.action == action
        assert step.parties, action
        if step.targets:
            assert set(step.targets) <= set(AppealState), action
        if workflow.Party.STAFF in step.parties:
            assert step.relation is not None and step.refusal, action


def test_refusals_come_in_one_order_for_the_service_the_page_and_the_api(city, client, login):
    """Outside 404 before the state's 409 before the role's 403 — the same answer from
    workflow.permit, the page's action URL and the API's."""
    appeal = receive(city, category=grid_category())  # dispatched to grid A1
    u = city.users
    cases = [
        (u.outsider, A.RESOLVE, NotFound, 404),  # outside, and the state is wrong too: 404 first
        (u.street_officer, A.RESOLVE, Conflict, 409),  # inside, wrong state, not the handler: 409 first
        (u.street_officer, A.SIGN, ActionForbidden, 403),  # right state, not the handler
        (u.supervisor, A.SIGN, ActionForbidden, 403),
    ]
    for user, action, error, status in cases:
        with pytest.raises(error):
            workflow.permit(user=user, appeal=appeal, action=action)
        login(user)
        page = client.post(reverse("appeals:action", args=[appeal.tracking_code, action]), {})
        assert page.status_code == status, (user, action, "page")
        api = APIClient()
        api.force_authenticate(user)
        answer = api.post(f"/api/v1/appeals/{appeal.tracking_code}/{ENDPOINTS[action]}/", {}, format="json")
        assert answer.status_code == status, (user, action, "api")
    appeal.refresh_from_db()
    assert appeal.version == 2  # nothing changed
