"""The whole loop in a real browser (Debian's Chromium): a resident submits on the public
form, grid_worker signs for it with the first contact and resolves it on the dashboard,
the result SMS with the evaluation link reaches the resident, and the resident evaluates
on the tracking page. Every step is in the timeline."""

import re

import pytest

from appeals.enums import AppealAction, AppealState
from appeals.models import Appeal
from tests.appeals.factories import grid_category
from tests.browser import browser_page, choose_place, login_as  # noqa: F401  (fixture)
from tests.factories import make_city

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13912345678"


def test_resident_and_grid_worker_close_the_loop(browser_page, live_server, sms_outbox):  # noqa: F811
    city = make_city()
    category = grid_category()
    page = browser_page

    # 1. The resident: street → community → building, category, description, mobile.
    page.goto(f"{live_server.url}/submit/")
    # Wait on the page's state, not on time: the place lists have all answered and the
    # building chosen is still the one chosen.
    choose_place(page, street=city.street_a, community=city.comm_a, building=city.building_a1)
    page.select_option("#id_category", str(category.pk))
    page.fill("#id_description", "3号楼下的垃圾已经堆了三天，气味很大，请尽快清运。")
    page.fill("#id_phone", PHONE)
    page.click("button.public-submit")
    page.wait_for_selector("#tracking-code")
    code = page.inner_text("#tracking-code").strip()
    appeal = Appeal.objects.get(tracking_code=code)
    assert appeal.state == AppealState.DISPATCHED and appeal.handling_grid_id == city.grid_a1.code
    assert any(code in m.message for m in sms_outbox), "the tracking code goes out by SMS"
    assert page.console_errors == []

    # 2. grid_worker signs for it with the first contact, then resolves it.
    staff = page.context.browser.new_context(locale="zh-CN")
    worker = staff.new_page()
    login_as(worker, live_server, "grid_worker")
    worker.goto(f"{live_server.url}/appeals/")
    worker.click(f"a:has-text('{code}')")
    worker.wait_for_selector("#appeal-region")
    worker.eval_on_selector("details.action-sign", "d => d.open = true")
    worker.check("details.action-sign input[name=contact]")
    worker.click("details.action-sign button[type=submit]")
    worker.wait_for_selector("details.action-resolve")
    worker.eval_on_selector("details.action-resolve", "d => d.open = true")
    worker.fill("details.action-resolve textarea[name=result]", "已联系环卫清运，现场已清理干净。")
    worker.click("details.action-resolve button[type=submit]")
    worker.wait_for_selector("text=待评价")
    appeal.refresh_from_db()
    assert appeal.state == AppealState.AWAITING_EVALUATION
    staff.close()

    # 3. The result SMS carries the evaluation link; the resident follows it.
    feedback = [m for m in sms_outbox if "/track/" in m.message and m.message != sms_outbox[0].message]
    assert feedback, [m.message for m in sms_outbox]
    link = re.search(r"(/track/[A-Za-z0-9]+/)", feedback[-1].message).group(1)
    # A fresh browser, as on the resident's phone when the SMS arrives.
    resident = page.context.browser.new_context(locale="zh-CN").new_page()
    errors = page.console_errors
    resident.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page = resident
    page.goto(f"{live_server.url}{link}")
    page.fill("input[name=phone_last4]", PHONE[-4:])
    page.click("button[type=submit]")
    page.wait_for_selector("#evaluate")
    page.check("#evaluate input[name=solved][value=yes]")
    page.check("#evaluate input[name=rating][value=satisfied]")
    page.fill("#evaluate textarea[name=comment]", "处理很及时，谢谢！")
    page.click("#evaluate button[type=submit]")
    page.wait_for_selector("text=感谢您的评价")

    appeal.refresh_from_db()
    assert appeal.state == AppealState.CLOSED and appeal.rating == "satisfied"
    actions = list(appeal.events.order_by("created_at", "id").values_list("action", flat=True))
    for step in (AppealAction.RECEIVE, AppealAction.DISPATCH, AppealAction.SIGN, AppealAction.RESOLVE,
                 AppealAction.FEEDBACK, AppealAction.EVALUATE):
        assert step in actions, (step, actions)
    assert appeal.first_contact_at is not None
    assert errors == []
