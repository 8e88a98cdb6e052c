"""Issue 19 in a real browser (Debian's Chromium): the recipient of a dispatch, a whistle
and a rework logs in and finds the message in the inbox with the unread count in the
header; and the community dispatching back to the grid that returned an appeal sees the
return reason at the top and goes through the confirmation step."""

import pytest

from appeals import services
from appeals.enums import AppealAction, AppealState, Rating
from appeals.models import Appeal
from tests.appeals.factories import grid_category, receive
from tests.browser import browser_page, login_as  # noqa: F401  (fixture)
from tests.factories import make_city

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
A = AppealAction


def _as(page, live_server, username):
    """A fresh browser context (another person's phone) logged in as ``username``."""
    context = page.context.browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    other = context.new_page()
    errors = page.console_errors
    other.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    other.on("pageerror", lambda exc: errors.append(str(exc)))
    login_as(other, live_server, username)
    return other


def _unread(page) -> str:
    return page.inner_text("header.topbar a[href='/notifications/']").strip()


def _open_action(page, action):
    page.eval_on_selector(f"details.action-{action}", "d => d.open = true")


def test_the_inbox_after_a_dispatch_a_whistle_and_a_rework(browser_page, live_server):  # noqa: F811
    city = make_city()
    category = grid_category()
    appeal = receive(city, category=None)  # waits in the community's queue
    code = appeal.tracking_code

    # 1. The community worker dispatches it to grid A1 on the appeal page.
    community = browser_page
    login_as(community, live_server, "community_worker")
    assert _unread(community) == "消息 (1)"  # the appeal waiting for dispatch
    community.goto(f"{live_server.url}/appeals/{code}/")
    _open_action(community, "dispatch")
    community.select_option("details.action-dispatch select[name=unit]", f"grid:{city.grid_a1.code}")
    community.select_option("details.action-dispatch select[name=category]", str(category.pk))
    community.fill("details.action-dispatch textarea[name=note]", "请今天内处理")
    community.click("details.action-dispatch button[type=submit]")
    community.wait_for_selector("#appeal-region .msg-success:has-text('已派单')")
    assert Appeal.objects.get(pk=appeal.pk).state == AppealState.DISPATCHED

    # The grid worker logs in: the header counts it, the inbox shows it.
    worker = _as(community, live_server, "grid_worker")
    assert _unread(worker) == "消息 (1)"
    worker.click("header.topbar a[href='/notifications/']")
    worker.wait_for_selector("table.inbox")
    row = worker.locator("tr.inbox-group.unread")
    assert row.count() == 1
    assert f"新派单：诉求 {code}" in row.inner_text() and "请今天内处理" in row.inner_text()
    # 查看 opens the appeal and reads the message.
    row.locator("button[name=open]").click()
    worker.wait_for_url(f"{live_server.url}/appeals/{code}/")
    assert _unread(worker) == "消息 (0)"

    # 2. The street officer whistles 城管; the department handler is told to report.
    street = _as(community, live_server, "street_officer")
    street.goto(f"{live_server.url}/appeals/{code}/")
    _open_action(street, "whistle")
    street.check(f"details.action-whistle input[name=departments][value='{city.chengguan.pk}']")
    street.fill("details.action-whistle input[name=note]", "占道严重，请城管到场")
    street.click("details.action-whistle button[type=submit]")
    street.wait_for_selector("#appeal-region .msg-success:has-text('已吹哨')")
    department = _as(community, live_server, "department_handler")
    assert _unread(department) == "消息 (1)"
    department.goto(f"{live_server.url}/notifications/")
    text = department.inner_text("table.inbox")
    assert f"吹哨报到：诉求 {code}" in text and "请城管到诉求页面报到" in text

    # 3. Resolved, then the resident is not satisfied: the grid is told to rework.
    appeal = services.appeal_act(actor=city.users.grid_worker, appeal=Appeal.objects.get(pk=appeal.pk),
                                 action=A.SIGN, contact=True)
    appeal = services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.RESOLVE, result="已清运")
    services.appeal_evaluate(tracking_code=code, phone_last4="5678", solved=False, rating=Rating.UNSATISFIED,
                             comment="垃圾还在")
    worker.goto(f"{live_server.url}/notifications/")
    assert _unread(worker) == "消息 (1)"
    line = worker.locator("tr.inbox-group").first
    assert f"返工：诉求 {code} 居民不满意" in line.inner_text()
    # The appeal's two messages are one line with its count.
    assert "共 2 条，未读 1 条" in line.inner_text() and worker.locator("tr.inbox-group").count() == 1
    line.locator("summary").click()
    worker.wait_for_selector("details.inbox-group[open]")
    assert "新派单" in line.inner_text() and "垃圾还在" in line.inner_text()
    assert browser_page.console_errors == []


def test_dispatching_back_to_the_unit_that_returned_it_asks_for_confirmation(browser_page, live_server):  # noqa: F811
    city = make_city()
    appeal = receive(city, category=None)
    services.appeal_act(actor=city.users.community_worker, appeal=appeal, action=A.DISPATCH, unit=city.grid_a1,
                        category=grid_category())
    reason = "不属于本网格，应由物业公司处理"
    services.appeal_act(actor=city.users.grid_worker, appeal=Appeal.objects.get(pk=appeal.pk), action=A.RETURN,
                        reason=reason)
    code = appeal.tracking_code

    page = browser_page
    login_as(page, live_server, "community_worker")
    page.goto(f"{live_server.url}/appeals/{code}/")
    # The return reason sits at the top, above the facts and the timeline.
    banner = page.locator("#return-reason")
    assert reason in banner.inner_text()
    top = page.eval_on_selector("#return-reason", "e => e.getBoundingClientRect().top")
    facts = page.eval_on_selector("#appeal-region section.card:not(#return-reason)", "e => e.getBoundingClientRect().top")
    assert top < facts
    assert page.locator("details.action-dispatch input[name=confirm_return]").count() == 0

    # Choosing the unit that returned it and submitting opens the confirmation step.
    _open_action(page, "dispatch")
    page.select_option("details.action-dispatch select[name=unit]", f"grid:{city.grid_a1.code}")
    page.click("details.action-dispatch button[type=submit]")
    page.wait_for_selector("details.action-dispatch .confirm-step")
    step = page.inner_text("details.action-dispatch .confirm-step")
    assert "派回退单单位，请确认" in step and "请勾选“确认派回退单单位”并在说明中写明理由" in step
    assert Appeal.objects.get(pk=appeal.pk).state == AppealState.RECEIVED

    # Confirmed without a note: still refused, the note is asked for.
    page.check("details.action-dispatch input[name=confirm_return]")
    page.click("details.action-dispatch button[type=submit]")
    # The answer marks the note (the first one marked the box).
    page.wait_for_selector("details.action-dispatch textarea[name=note][aria-invalid=true]")
    assert "写明理由" in page.inner_text("details.action-dispatch")
    assert page.is_checked("details.action-dispatch input[name=confirm_return]")
    assert Appeal.objects.get(pk=appeal.pk).state == AppealState.RECEIVED

    page.fill("details.action-dispatch textarea[name=note]", "经核实属公共区域，仍由网格处理")
    page.click("details.action-dispatch button[type=submit]")
    page.wait_for_selector("#appeal-region .msg-success:has-text('已派单')")
    appeal = Appeal.objects.get(pk=appeal.pk)
    assert appeal.state == AppealState.DISPATCHED and appeal.handling_grid_id == city.grid_a1.code
    assert page.locator("#return-reason").count() == 0
    # The two refusals answered 400 (the browser logs each); nothing else went wrong.
    assert [e for e in page.console_errors if "status of 400" not in e] == []
    assert len(page.console_errors) == 2
