"""Extensions (延期): asked before the deadline by the handler, decided one level up;
approval moves the deadline and marks the appeal deferred (缓办)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appeals import extensions
from appeals.enums import AppealAction, ExtensionState
from appeals.models import ExtensionRequest
from governance.enums import NotificationKind
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from governance.models import Notification
from tests.appeals.factories import component_department_category, grid_category, receive, street_category

A = AppealAction
pytestmark = pytest.mark.django_db


def ask(user, appeal, days=5, reason="需协调物业维修基金", **kw):
    return extensions.extension_request(actor=user, appeal=appeal, reason=reason,
                                        requested_deadline=appeal.deadline + timedelta(days=days), **kw)


def test_the_grid_asks_and_the_community_approves(city, sms_outbox, django_capture_on_commit_callbacks):
    u = city.users
    appeal = receive(city, category=grid_category())
    deadline, version = appeal.deadline, appeal.version
    with django_capture_on_commit_callbacks(execute=True):  # the relay delivers the inbox message
        extension = ask(u.grid_worker, appeal)
    assert extension.state == ExtensionState.PENDING and extension.level == "grid"
    appeal.refresh_from_db()
    assert appeal.version == version + 1 and appeal.deadline == deadline and not appeal.deferred
    assert appeal.events.filter(action=A.EXTEND_REQUEST).get().data["extension"] == extension.pk
    (asked,) = Notification.objects.filter(recipient=u.community_worker, kind=NotificationKind.EXTENSION)
    assert appeal.tracking_code in asked.title

    # Only one level up decides: not the requester, not the street, not an outsider.
    with pytest.raises(ActionForbidden, match="社区"):
        extensions.extension_approve(actor=u.grid_worker, extension=extension)
    with pytest.raises(ActionForbidden):
        extensions.extension_approve(actor=u.street_officer, extension=extension)
    with pytest.raises(ActionForbidden):
        extensions.extension_approve(actor=u.district_supervisor, extension=extension)
    with pytest.raises(NotFound):
        extensions.extension_approve(actor=u.outsider, extension=extension)

    sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        extension = extensions.extension_approve(actor=u.community_worker, extension=extension, note="同意")
    assert (extension.state, extension.decided_by) == (ExtensionState.APPROVED, u.community_worker)
    appeal.refresh_from_db()
    assert appeal.deadline == deadline + timedelta(days=5) and appeal.level_deadline == appeal.deadline
    assert appeal.deferred is True
    assert appeal.events.filter(action=A.EXTEND_APPROVE).count() == 1
    assert Notification.objects.filter(recipient=u.grid_worker, kind=NotificationKind.EXTENSION).count() == 1
    (told,) = [m for m in sms_outbox if m.template == "extended"]
    assert told.phone == "13812345678" and "延期" in told.message
    with pytest.raises(Conflict, match="已处理"):
        extensions.extension_approve(actor=u.community_worker, extension=extension)


def test_asking_is_for_the_handler_before_the_deadline(city):
    u = city.users
    appeal = receive(city, category=grid_category())
    with pytest.raises(NotFound):
        ask(u.outsider, appeal)
    with pytest.raises(ActionForbidden, match="只读"):
        ask(u.supervisor, appeal)
    with pytest.raises(ActionForbidden, match="当前办理单位"):
        ask(u.community_worker, appeal)  # it would approve its own request
    with pytest.raises(ApplicationError, match="理由"):
        ask(u.grid_worker, appeal, reason="")
    with pytest.raises(ApplicationError, match="晚于"):
        ask(u.grid_worker, appeal, days=-1)
    with pytest.raises(ApplicationError, match="已超过办结时限"):
        ask(u.grid_worker, appeal, now=appeal.deadline + timedelta(minutes=1))
    ask(u.grid_worker, appeal)
    appeal.refresh_from_db()
    with pytest.raises(Conflict, match="待审批"):
        ask(u.grid_worker, appeal, days=9)
    assert ExtensionRequest.objects.filter(appeal=appeal).count() == 1


def test_a_rejection_needs_a_reason_and_keeps_the_deadline(city):
    u = city.users
    appeal = receive(city, category=grid_category())
    deadline = appeal.deadline
    extension = ask(u.grid_worker, appeal)
    with pytest.raises(ApplicationError, match="驳回理由"):
        extensions.extension_reject(actor=u.community_worker, extension=extension, note="")
    extension = extensions.extension_reject(actor=u.community_worker, extension=extension, note="时间充足，请按期办结")
    assert extension.state == ExtensionState.REJECTED
    appeal.refresh_from_db()
    assert appeal.deadline == deadline and not appeal.deferred
    assert appeal.events.filter(action=A.EXTEND_REJECT).get().note == "时间充足，请按期办结"
    ask(u.grid_worker, appeal, days=2)  # a new request after a rejection


def test_street_and_department_requests_go_to_the_district_supervisors(city):
    u = city.users
    street_appeal = receive(city, category=street_category())
    extension = ask(u.street_officer, street_appeal)
    with pytest.raises(ActionForbidden, match="区督查"):
        extensions.extension_approve(actor=u.street_officer, extension=extension)
    assert list(extensions.extensions_to_decide(jurisdiction=_jur(u.district_supervisor))) == [extension]
    assert extensions.extension_approve(actor=u.district_supervisor, extension=extension).state == ExtensionState.APPROVED

    dept_appeal = receive(city, category=component_department_category())
    extension = ask(u.department_handler, dept_appeal, days=1)
    assert extensions.extension_approve(actor=u.district_supervisor, extension=extension).state == ExtensionState.APPROVED
    dept_appeal.refresh_from_db()
    assert dept_appeal.deferred


def test_an_escalated_appeal_keeps_the_extended_deadline_as_its_level_deadline(city):
    from appeals.escalation import escalation_sweep

    u = city.users
    appeal = receive(city, category=grid_category())
    extension = ask(u.grid_worker, appeal, days=3)
    extensions.extension_approve(actor=u.community_worker, extension=extension)
    appeal.refresh_from_db()
    # Past the old deadline, but within the extension: nothing to escalate.
    assert escalation_sweep(now=extension.previous_deadline + timedelta(hours=1)).escalated == 0
    assert escalation_sweep(now=appeal.deadline + timedelta(minutes=1)).escalated == 1


def test_the_extension_api(city, client):
    u = city.users
    appeal = receive(city, category=grid_category())
    url = f"/api/v1/appeals/{appeal.tracking_code}/extensions/"
    body = {"requested_deadline": (appeal.deadline + timedelta(days=2)).isoformat(), "reason": "等待配件"}
    client.force_login(u.outsider)
    assert client.post(url, body, content_type="application/json").status_code == 404
    client.force_login(u.grid_worker)
    assert client.post(url, {**body, "reason": ""}, content_type="application/json").status_code == 400
    created = client.post(url, body, content_type="application/json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    client.force_login(u.street_officer)
    assert client.post(f"/api/v1/extensions/{pk}/approve/", {}, content_type="application/json").status_code == 403
    client.force_login(u.outsider)
    assert client.post(f"/api/v1/extensions/{pk}/approve/", {}, content_type="application/json").status_code == 404
    client.force_login(u.community_worker)
    approved = client.post(f"/api/v1/extensions/{pk}/approve/", {"note": "同意"}, content_type="application/json")
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    again = client.post(f"/api/v1/extensions/{pk}/reject/", {"note": "x"}, content_type="application/json")
    assert again.status_code == 409
    appeal.refresh_from_db()
    assert appeal.deferred and appeal.deadline > timezone.now()


def _jur(user):
    from governance.staff.selectors import jurisdiction_for

    return jurisdiction_for(user)
