"""The visit loop in a real browser (Debian's Chromium) on a phone (390×844): the grid
worker finds an overdue household on the 走访 list, records the visit with a need found,
raises the appeal in one step (pre-filled, source 走访, routed to their own grid and signed
for), and the community is told of a household overdue by more than a period."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appeals.enums import AppealState, Source
from appeals.models import Appeal, Visit, VisitRule
from appeals.visits import services
from governance.kernel import outbox
from grids.models import Household
from tests.appeals.factories import grid_category
from tests.browser import browser_page, login_as  # noqa: F401  (fixture)
from tests.factories import HouseholdFactory, default_visit_rules, make_city

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_SIZE = {"width": 390, "height": 844}


def test_grid_worker_visits_raises_the_need_and_the_community_is_reminded(browser_page, live_server):  # noqa: F811
    city = make_city()
    category = grid_category()
    default_visit_rules()
    assert VisitRule.objects.filter(care_tag__in=["elderly_alone", "key_concern"]).count() == 2
    long_ago = timezone.now() - timedelta(days=60)
    Household.objects.filter(pk=city.household_a1.pk).update(created_at=long_ago)
    browser = browser_page.context.browser
    phone = browser.new_context(locale="zh-CN", viewport=PHONE_SIZE, has_touch=True, is_mobile=True)
    page = phone.new_page()
    errors = browser_page.console_errors
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    # 1. The 走访 list: the household is overdue (never visited since it was registered).
    login_as(page, live_server, "grid_worker")
    page.goto(f"{live_server.url}/visits/")
    overdue = page.locator("#visits-long")
    assert "和平里1号楼" in overdue.inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE_SIZE["width"]

    # 2. Record the visit: at home, one concern, notes.
    overdue.locator("a.button", has_text="记录走访").first.click()
    page.wait_for_selector("#visit-form")
    page.check("input[name=method][value=home]")
    page.check("input[name=check_0][value=good]")
    page.check("input[name=check_1][value=concern]")
    page.fill("#id_companions", "楼栋长 刘芳")
    page.fill("#id_notes", "卫生间地面湿滑，老人担心摔倒")
    page.click("#visit-form button[type=submit]")
    page.wait_for_selector("#visit-appeals")
    assert "在家" in page.inner_text("#visit-method")
    visit = Visit.objects.get(household=city.household_a1)
    assert visit.counts_done and visit.visitor.username == "grid_worker"

    # 3. The need becomes an appeal in one step, pre-filled from the visit.
    page.click("text=发现需求，发起诉求")
    page.wait_for_selector("#id_description")
    assert "卫生间地面湿滑" in page.input_value("#id_description")
    page.select_option("#id_category", str(category.pk))
    page.fill("#id_description", page.input_value("#id_description") + " 需加装扶手和防滑垫。")
    page.click("button[type=submit]:has-text('发起诉求')")
    page.wait_for_url(lambda url: "/appeals/" in url)
    appeal = Appeal.objects.get(source=Source.HOME_VISIT)
    assert appeal.tracking_code in page.content()
    assert appeal.state == AppealState.IN_PROGRESS and appeal.handling_grid_id == city.grid_a1.code
    assert list(appeal.home_visits.all()) == [visit]
    page.goto(f"{live_server.url}/visits/")
    assert "和平里1号楼" in page.locator("#visits-done").inner_text()

    # 4. The morning job: a household overdue by more than a period → its community's inbox.
    late = HouseholdFactory(building=city.building_a2, room="606", care_tags="key_concern")
    Household.objects.filter(pk=late.pk).update(created_at=long_ago)
    assert services.visit_reminders()["long_overdue"] == 1
    outbox.relay()
    office = browser.new_context(locale="zh-CN", viewport=PHONE_SIZE).new_page()
    login_as(office, live_server, "community_worker")
    office.goto(f"{live_server.url}/notifications/")
    office.wait_for_selector("text=逾期超过一个周期的走访")
    phone.close()
    assert errors == []
