"""A community worker logs in with a real browser and browses only its community."""

import pytest

from tests.browser import browser_page, login_as  # noqa: F401  (fixture)
from tests.factories import make_city

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_community_worker_browses_own_community(browser_page, live_server):  # noqa: F811
    city = make_city()
    page = browser_page
    login_as(page, live_server, "community_worker")
    assert "甲一社区" in page.content()

    page.click("text=甲一社区")
    page.wait_for_selector("h1:has-text('甲一社区')")
    page.click("a:has-text('第一网格')")
    page.wait_for_selector("h1:has-text('第一网格')")
    page.click("text=和平里1号楼")
    page.wait_for_selector("text=101")
    # Masked in the list, in full on the household page.
    assert "138****5678" in page.content()
    page.click("a:has-text('1单元101')")
    page.wait_for_selector("h2:has-text('居民')")
    assert "13812345678" in page.content()

    assert page.console_errors == []

    # Another community answers 404, not its data.
    response = page.goto(f"{live_server.url}/territory/community/{city.comm_c.code}/")
    assert response.status == 404
    assert "乙一社区" not in page.content()
