"""In Chromium: the hot spots of a large period show the categories at once and a box that
polls (htmx) until the task has grouped the buildings and households, then the tables."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.assessment.flows import flows_refresh_recent
from governance.models import AccessLog
from governance.reports import hotspots
from governance.reports.tasks import hotspot_repeats
from tests.appeals.factories import grid_category, receive
from tests.browser import browser_page, login_as  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_page_polls_until_the_repeats_are_grouped(city, browser_page, live_server, settings,  # noqa: F811
                                                       monkeypatch):
    category = grid_category()
    for _i in range(3):
        receive(city, category=category, building=city.building_a1, phone="13812345678")
    flows_refresh_recent()
    settings.HOTSPOT_INLINE_MAX_APPEALS = 2
    sent = []
    monkeypatch.setattr(hotspots, "_enqueue", lambda kwargs, lock: sent.append(kwargs))  # the worker: below
    today = timezone.localdate()
    page = browser_page
    login_as(page, live_server, "street_officer")
    page.goto(f"{live_server.url}/reports/hotspots/?from={today - timedelta(days=1)}&to={today}")
    page.wait_for_selector("text=本期共约 3 件诉求")
    assert page.inner_text("table[data-table=hotspot-categories] tbody tr") == "01001\t暴露垃圾\t3\t—\t—"
    assert len(sent) == 1
    hotspot_repeats.apply(kwargs=sent[0])  # the task, run as a worker would
    page.wait_for_selector("table[data-table=hotspot-households]", timeout=15000)  # the poll swapped them in
    assert page.inner_text("table[data-table=hotspot-households] tbody td:first-child") == "138****5678"
    # The categories' table, swapped out of band, has its buildings and communities now.
    assert page.inner_text("table[data-table=hotspot-categories] tbody tr") == "01001\t暴露垃圾\t3\t1\t1"
    assert page.locator("text=正在生成").count() == 0
    assert AccessLog.objects.filter(action="view", record_count=1).count() == 1
    assert len(sent) == 1  # the polls found the lock: no second task
    assert page.console_errors == []
