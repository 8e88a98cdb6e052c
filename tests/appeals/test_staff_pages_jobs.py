"""The deadline work on the staff pages: 上报 and 申请延期 on the appeal page, and the
延期 decisions (list page and appeal page), with the action forms' handling: plain POST
and htmx, the version seen, 403 with the reason, 404 outside, 400 in place."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appeals import extensions
from appeals.enums import AppealAction, EscalationLevel, ExtensionState, HandlingLevel
from appeals.models import ExtensionRequest
from tests.appeals.factories import grid_category, receive
from tests.helpers import detail_url

A = AppealAction
pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
CONFLICT = "该诉求已被他人处理（已变更），请刷新后重试。"


def action_url(appeal, action) -> str:
    return reverse("appeals:action", args=[appeal.tracking_code, action])


def decide_url(extension, decision) -> str:
    return reverse("appeals:extension-decide", args=[extension.pk, decision])


def post(client, appeal, action, htmx=False, **data):
    appeal.refresh_from_db()
    data.setdefault("expected_version", appeal.version)
    return client.post(action_url(appeal, action), data, **(HTMX if htmx else {}))


def local_input(dt) -> str:
    """What a datetime-local field sends."""
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def text(response) -> str:
    return response.content.decode()


def actions(appeal) -> list[str]:
    return list(appeal.events.order_by("id").values_list("action", flat=True))


# --- 上报 ----------------------------------------------------------------------------------------


def test_escalate_on_the_page_moves_the_level_and_writes_the_event(city, client, login):
    appeal = receive(city, category=grid_category())
    login(city.users.grid_worker)
    page = text(client.get(detail_url(appeal)))
    assert f'action="{action_url(appeal, A.ESCALATE)}"' in page and "上报理由" in page

    response = post(client, appeal, A.ESCALATE, reason="  ")
    assert response.status_code == 400 and "请填写上报理由。" in text(response)
    response = post(client, appeal, A.ESCALATE, reason="涉及物业，需社区协调")
    assert response.status_code == 302 and response["Location"] == detail_url(appeal)
    appeal.refresh_from_db()
    assert (appeal.escalation_level, appeal.handling_level) == (EscalationLevel.COMMUNITY, HandlingLevel.COMMUNITY)
    assert appeal.handling_community == city.comm_a
    event = appeal.events.get(action=A.ESCALATE)
    assert event.note == "涉及物业，需社区协调" and event.actor == city.users.grid_worker
    assert event.data["automatic"] is False and event.data["unit_code"] == city.comm_a.code
    assert "已上报。" in text(client.get(detail_url(appeal)))

    # The community now handles it: htmx swaps the region; at the street it goes on up.
    login(city.users.community_worker)
    response = post(client, appeal, A.ESCALATE, htmx=True, reason="需街道协调")
    assert response.status_code == 200 and text(response).startswith('<div id="appeal-region">')
    assert "已上报。" in text(response)
    appeal.refresh_from_db()
    assert appeal.escalation_level == EscalationLevel.STREET and appeal.handling_street == city.street_a


def test_escalate_refusals(city, client, login):
    appeal = receive(city, category=grid_category())
    seen = appeal.version
    # A colleague who sees it but does not handle it: 403 with the reason, even with no input.
    login(city.users.street_officer)
    assert f'action="{action_url(appeal, A.ESCALATE)}"' not in text(client.get(detail_url(appeal)))
    response = post(client, appeal, A.ESCALATE)
    assert response.status_code == 403 and "只有当前办理单位可以上报。" in text(response)
    response = post(client, appeal, A.ESCALATE, htmx=True)
    assert response.status_code == 403 and response["HX-Retarget"] == "#flash"
    login(city.users.supervisor)
    assert "督查考核账号只读，不能上报诉求。" in text(post(client, appeal, A.ESCALATE, reason="x"))
    # Outside the jurisdiction: 404.
    login(city.users.outsider)
    assert post(client, appeal, A.ESCALATE, reason="x").status_code == 404
    assert post(client, appeal, A.ESCALATE, htmx=True, reason="x").status_code == 404
    # A stale page: the conflict message, the fresh form, no event.
    login(city.users.grid_worker)
    client.post(action_url(appeal, A.NOTE), {"expected_version": seen, "note": "已联系物业"})
    response = client.post(action_url(appeal, A.ESCALATE), {"expected_version": seen, "reason": "需社区协调"})
    assert response.status_code == 409 and CONFLICT in text(response)
    assert actions(appeal) == [A.RECEIVE, A.DISPATCH, A.NOTE]


# --- 延期 ------------------------------------------------------------------------------------------


def test_extension_request_then_approval_by_the_level_above_moves_the_deadline(city, client, login):
    appeal = receive(city, category=grid_category())
    deadline = appeal.deadline
    wanted = deadline + timedelta(days=3)
    login(city.users.grid_worker)
    assert f'action="{action_url(appeal, A.EXTEND_REQUEST)}"' in text(client.get(detail_url(appeal)))
    response = post(client, appeal, A.EXTEND_REQUEST, requested_deadline=local_input(wanted), reason="")
    assert response.status_code == 400 and "请填写延期理由。" in text(response)
    response = post(client, appeal, A.EXTEND_REQUEST, requested_deadline=local_input(deadline - timedelta(hours=1)),
                    reason="需协调维修基金")
    assert response.status_code == 400 and "须晚于现办结时限" in text(response)
    response = post(client, appeal, A.EXTEND_REQUEST, requested_deadline=local_input(wanted), reason="需协调维修基金")
    assert response.status_code == 302
    extension = ExtensionRequest.objects.get(appeal=appeal)
    assert extension.state == ExtensionState.PENDING and extension.level == HandlingLevel.GRID
    page = text(client.get(detail_url(appeal)))
    # Pending: shown, not asked twice, and the requester cannot decide it.
    assert "需协调维修基金" in page and f'action="{action_url(appeal, A.EXTEND_REQUEST)}"' not in page
    assert decide_url(extension, "approve") not in page

    # The wrong level (the street decides communities' requests, not grids'): 403 with the reason.
    login(city.users.street_officer)
    assert extension.appeal.tracking_code not in text(client.get(reverse("appeals:extensions")))
    appeal.refresh_from_db()
    response = client.post(decide_url(extension, "approve"), {"expected_version": appeal.version})
    assert response.status_code == 403 and "延期须由上一级审批：该申请由社区审批。" in text(response)
    response = client.post(decide_url(extension, "approve"), {"expected_version": appeal.version}, **HTMX)
    assert response.status_code == 403 and response["HX-Retarget"] == "#flash"

    # The community approves from its list.
    login(city.users.community_worker)
    listing = text(client.get(reverse("appeals:extensions")))
    assert appeal.tracking_code in listing and decide_url(extension, "approve") in listing
    assert reverse("appeals:extensions") in text(client.get(reverse("appeals:queue")))
    response = client.post(decide_url(extension, "approve"), {"expected_version": appeal.version, "note": "同意"})
    assert response.status_code == 302 and response["Location"] == reverse("appeals:extensions")
    appeal.refresh_from_db()
    extension.refresh_from_db()
    assert extension.state == ExtensionState.APPROVED and extension.decided_by == city.users.community_worker
    assert appeal.deadline == wanted.replace(second=0, microsecond=0) and appeal.deferred is True
    assert actions(appeal)[-2:] == [A.EXTEND_REQUEST, A.EXTEND_APPROVE]
    assert "没有待您审批的延期申请。" in text(client.get(reverse("appeals:extensions")))
    # Decided once: a second decision is "already handled", shown in place.
    response = client.post(decide_url(extension, "reject"), {"expected_version": appeal.version, "note": "x"})
    assert response.status_code == 409 and "该延期申请已处理" in text(response)


def test_reject_from_the_appeal_page_needs_a_reason(city, client, login):
    appeal = receive(city, category=grid_category())
    extension = extensions.extension_request(actor=city.users.grid_worker, appeal=appeal, reason="需协调",
                                             requested_deadline=appeal.deadline + timedelta(days=2))
    appeal.refresh_from_db()
    login(city.users.community_worker)
    page = text(client.get(detail_url(appeal)))
    assert decide_url(extension, "reject") in page and 'name="next" value="detail"' in page
    data = {"expected_version": appeal.version, "next": "detail"}
    response = client.post(decide_url(extension, "reject"), {**data, "note": " "}, **HTMX)
    assert response.status_code == 400 and "请填写驳回理由。" in text(response)
    assert text(response).startswith('<div id="appeal-region">')
    response = client.post(decide_url(extension, "reject"), {**data, "note": "理由不充分，请按期办结"}, **HTMX)
    assert response.status_code == 200 and "已驳回延期申请。" in text(response)
    extension.refresh_from_db()
    appeal.refresh_from_db()
    assert extension.state == ExtensionState.REJECTED and appeal.deferred is False
    assert actions(appeal)[-1] == A.EXTEND_REJECT


def test_outsiders_get_404_on_extensions(city, client, login):
    appeal = receive(city, category=grid_category())
    extension = extensions.extension_request(actor=city.users.grid_worker, appeal=appeal, reason="需协调",
                                             requested_deadline=appeal.deadline + timedelta(days=2))
    appeal.refresh_from_db()
    login(city.users.outsider)
    assert appeal.tracking_code not in text(client.get(reverse("appeals:extensions")))
    for decision in ("approve", "reject"):
        response = client.post(decide_url(extension, decision), {"expected_version": appeal.version, "note": "x"})
        assert response.status_code == 404
        assert client.post(decide_url(extension, decision), {}, **HTMX).status_code == 404
    assert post(client, appeal, A.EXTEND_REQUEST, reason="x",
                requested_deadline=local_input(appeal.deadline + timedelta(days=1))).status_code == 404
    extension.refresh_from_db()
    assert extension.state == ExtensionState.PENDING
