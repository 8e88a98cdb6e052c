"""The meeting loop in a real browser (Debian's Chromium): community_worker schedules a
民意听证会, links the related open appeals offered, records the meeting and a decision,
marks it done — the linked appeals are resolved with it — and a resident evaluates from
the result SMS; the public 公示 page shows the decision and no names."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from appeals import services
from appeals.deliberation.enums import DecisionState, MeetingState
from appeals.deliberation.models import Meeting
from appeals.enums import AppealAction, AppealState
from governance.kernel.clock import CHINA
from tests.appeals.factories import grid_category, receive
from tests.browser import browser_page, login_as  # noqa: F401  (fixture)
from tests.factories import make_city

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_meeting_settles_its_appeals_and_the_residents_evaluate(browser_page, live_server, sms_outbox):  # noqa: F811
    city = make_city()
    for b in (city.building_a1, city.building_a2):
        b.compound = "和平里小区"
        b.save(update_fields=["compound"])
    category = grid_category()
    first = services.appeal_act(actor=city.users.grid_worker, action=AppealAction.SIGN,
                                appeal=receive(city, category=category, building=city.building_a1, phone="13912345678"))
    second = services.appeal_act(actor=city.users.grid_worker2, action=AppealAction.SIGN,
                                 appeal=receive(city, category=category, building=city.building_a2, phone="13912340000"))
    page = browser_page
    login_as(page, live_server, "community_worker")

    # 1. Schedule a hearing from 诉求's section menu: 民主协商.
    page.goto(f"{live_server.url}/appeals/")
    page.click("a[href='/deliberation/']")
    page.click("#schedule-meeting")
    page.select_option("#id_kind", "hearing")
    page.fill("#id_topic", "和平里小区垃圾堆放点调整")
    page.fill("#id_place", "社区党群服务中心")
    page.fill("#id_starts_at", (timezone.now() - timedelta(hours=1)).astimezone(CHINA).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_estate", "和平里小区")
    page.select_option("#id_category", str(category.pk))
    page.click("#schedule-form button[type=submit]")
    page.wait_for_selector("#link-form")
    meeting = Meeting.objects.get(topic="和平里小区垃圾堆放点调整")

    # 2. Link the related open appeals the page offers.
    for appeal in (first, second):
        page.check(f"#link-form input[value='{appeal.tracking_code}']")
    page.click("#link-form button[type=submit]")
    page.wait_for_selector("text=已提交议事 2 件诉求")
    assert page.inner_text("#linked-appeals").count("办理中") == 2

    # 3. Record the meeting: residents counted, the property company named, a show of hands.
    page.fill("#record-form input[name=residents_count]", "28")
    page.select_option("#record-form select[name=p-0-role]", "property")
    page.fill("#record-form input[name=p-0-name]", "和顺物业服务有限公司")
    page.fill("#record-form textarea[name=minutes]", "议定将垃圾堆放点移至小区东门外。")
    page.fill("#record-form input[name=votes_for]", "22")
    page.fill("#record-form input[name=votes_against]", "4")
    page.fill("#record-form input[name=votes_abstain]", "2")
    page.click("#record-form button[type=submit]")
    page.wait_for_selector("text=会议记录已保存")
    assert page.inner_text("#residents-count") == "28"
    assert "意见表决（不替代业主大会决定）" in page.inner_text("#meeting-record")

    # 4. A decision, then done: the linked appeals are resolved with it.
    page.fill("#decision-form input[name=text]", "垃圾堆放点移至东门外并每日清运两次")
    page.fill("#decision-form input[name=owner]", "和顺物业服务有限公司")
    page.fill("#decision-form input[name=due_date]", (timezone.now().astimezone(CHINA).date() + timedelta(days=10))
              .isoformat())
    page.click("#decision-form button[type=submit]")
    page.wait_for_selector("text=已添加事项")
    decision = meeting.decisions.get()
    row = f"#decision-{decision.pk}"
    page.select_option(f"{row} select[name=state]", "done")
    assert page.is_checked(f"{row} input[name=resolve_appeals]")
    page.click(f"{row} button[type=submit]")
    page.wait_for_selector("text=2 件关联诉求以此办结")
    decision.refresh_from_db()
    meeting.refresh_from_db()
    assert decision.state == DecisionState.DONE and meeting.state == MeetingState.HELD
    for appeal in (first, second):
        appeal.refresh_from_db()
        assert appeal.state == AppealState.AWAITING_EVALUATION and "东门外" in appeal.result
        assert list(appeal.events.filter(action__in=[AppealAction.DELIBERATE, AppealAction.RESOLVE])
                    .order_by("id").values_list("action", flat=True)) == [AppealAction.DELIBERATE, AppealAction.RESOLVE]

    # 5. The resident evaluates from the result SMS, as for any result.
    message = next(m for m in sms_outbox if m.phone == "13912345678" and "/track/" in m.message and "评价" in m.message)
    link = re.search(r"(/track/[A-Za-z0-9]+/\S*)", message.message).group(1)
    resident = page.context.browser.new_context(locale="zh-CN").new_page()
    resident.goto(f"{live_server.url}{link}")
    if resident.query_selector("input[name=phone_last4]"):
        resident.fill("input[name=phone_last4]", "5678")
        resident.click("button[type=submit]")
    resident.wait_for_selector("#evaluate")
    resident.check("#evaluate input[name=solved][value=yes]")
    resident.check("#evaluate input[name=rating][value=satisfied]")
    resident.click("#evaluate button[type=submit]")
    resident.wait_for_selector("text=感谢您的评价")
    first.refresh_from_db()
    assert first.state == AppealState.CLOSED and first.rating == "satisfied"

    # 6. The public notice: the topic, the decision and its state; no names.
    resident.goto(f"{live_server.url}/notice/{city.comm_a.code}/")
    notice = resident.inner_text("main") if resident.query_selector("main") else resident.inner_text("body")
    assert "和平里小区垃圾堆放点调整" in notice and "垃圾堆放点移至东门外并每日清运两次" in notice and "已完成" in notice
    for hidden in ("和顺物业服务有限公司", "议定将垃圾堆放点", first.tracking_code, "王建国"):
        assert hidden not in notice
    assert page.console_errors == []
