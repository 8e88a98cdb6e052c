"""Dispatch after a 退单 (issue 19): the return reason at the top of the appeal page while
it waits, and dispatching back to the unit that returned it only with an explicit
confirmation and a note — refused by the service (pages and API alike) otherwise."""

import pytest
from rest_framework.test import APIClient

from appeals import services
from appeals.enums import AppealAction, AppealState
from appeals.models import Appeal
from appeals.services.dispatch import pending_return
from governance.kernel.errors import ApplicationError
from tests.appeals.factories import grid_category, receive

pytestmark = pytest.mark.django_db
A = AppealAction
REASON = "不属于本网格，应由物业公司处理"


def returned_by_grid(city) -> Appeal:
    """An appeal the community dispatched to grid A1, returned by the grid worker."""
    appeal = receive(city, category=None)
    services.appeal_act(actor=city.users.community_worker, appeal=appeal, action=A.DISPATCH, unit=city.grid_a1,
                        category=grid_category())
    appeal = services.appeal_act(actor=city.users.grid_worker, appeal=Appeal.objects.get(pk=appeal.pk),
                                 action=A.RETURN, reason=REASON)
    assert appeal.state == AppealState.RECEIVED
    return appeal


def test_the_pending_return_names_the_unit_and_the_reason(city):
    appeal = returned_by_grid(city)
    back = pending_return(appeal)
    assert (back.unit.level, back.unit.code, back.reason) == ("grid", city.grid_a1.code, REASON)
    assert "第一网格" in back.unit_name and back.is_unit(city.grid_a1) and not back.is_unit(city.grid_a2)
    # Dispatched again: nothing pending any more.
    appeal = services.appeal_act(actor=city.users.community_worker, appeal=appeal, action=A.DISPATCH,
                                 unit=city.comm_a)
    assert pending_return(appeal) is None
    assert pending_return(receive(city, category=None)) is None  # never dispatched


def test_the_service_refuses_dispatching_back_without_confirmation_and_note(city):
    appeal = returned_by_grid(city)
    cw = city.users.community_worker
    with pytest.raises(ApplicationError, match="刚被“.*第一网格”退回（退单理由：不属于本网格") as refused:
        services.appeal_act(actor=cw, appeal=appeal, action=A.DISPATCH, unit=city.grid_a1)
    assert refused.value.status_code == 400 and "确认派回退单单位" in refused.value.message
    with pytest.raises(ApplicationError, match="写明理由"):
        services.appeal_act(actor=cw, appeal=appeal, action=A.DISPATCH, unit=city.grid_a1, confirm_return=True)
    with pytest.raises(ApplicationError):
        services.appeal_act(actor=cw, appeal=appeal, action=A.DISPATCH, unit=city.grid_a1, note="物业已确认不管")
    assert Appeal.objects.get(pk=appeal.pk).state == AppealState.RECEIVED
    appeal = services.appeal_act(actor=cw, appeal=appeal, action=A.DISPATCH, unit=city.grid_a1, confirm_return=True,
                                 note="经核实属公共区域，仍由网格处理")
    assert appeal.state == AppealState.DISPATCHED and appeal.handling_grid == city.grid_a1


def test_another_unit_needs_no_confirmation(city):
    appeal = returned_by_grid(city)
    appeal = services.appeal_act(actor=city.users.community_worker, appeal=appeal, action=A.DISPATCH,
                                 unit=city.comm_a)
    assert appeal.state == AppealState.DISPATCHED and appeal.handling_community == city.comm_a


def test_the_page_shows_the_reason_on_top_and_a_confirmation_step(city, login):
    appeal = returned_by_grid(city)
    client = login(city.users.community_worker)
    html = client.get(f"/appeals/{appeal.tracking_code}/").content.decode()
    banner = html.index('id="return-reason"')
    assert banner < html.index("基本情况") < html.index("办理记录")
    assert REASON in html[banner:html.index("基本情况")] and "退单待重新派单" in html
    assert f'value="grid:{city.grid_a1.code}">网格 · 甲一社区第一网格（刚退回）' in html
    assert 'name="confirm_return"' not in html  # the confirmation step opens when it is needed

    url = f"/appeals/{appeal.tracking_code}/dispatch/"
    base = {"expected_version": appeal.version, "unit": f"grid:{city.grid_a1.code}"}
    first = client.post(url, base)
    page = first.content.decode()
    assert first.status_code == 400 and 'class="confirm-step"' in page and 'name="confirm_return"' in page
    assert "如确需再派给它，请勾选“确认派回退单单位”并在说明中写明理由" in page
    without_note = client.post(url, {**base, "confirm_return": "on"})
    assert without_note.status_code == 400 and "写明理由" in without_note.content.decode()
    assert Appeal.objects.get(pk=appeal.pk).state == AppealState.RECEIVED

    done = client.post(url, {**base, "confirm_return": "on", "note": "经核实属公共区域，仍由网格处理"})
    assert done.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == AppealState.DISPATCHED and appeal.handling_grid == city.grid_a1
    after = client.get(f"/appeals/{appeal.tracking_code}/").content.decode()
    assert 'id="return-reason"' not in after


def test_the_api_asks_for_confirm_return_too(city):
    appeal = returned_by_grid(city)
    api = APIClient()
    api.force_authenticate(city.users.community_worker)
    url = f"/api/v1/appeals/{appeal.tracking_code}/dispatch/"
    body = {"unit_level": "grid", "unit_code": city.grid_a1.code}
    refused = api.post(url, body, format="json")
    assert refused.status_code == 400 and "确认派回退单单位" in refused.json()["detail"]
    ok = api.post(url, {**body, "confirm_return": True, "note": "仍属网格"}, format="json")
    assert ok.status_code == 200 and ok.json()["state"] == AppealState.DISPATCHED
