"""Issue 19 §2 in Chromium: every role of the test city logs in, lands on its home, and
crawls its menus two levels deep — the menu links of its home, then the menu links of
each page reached — and no page, fragment or asset answers 403, 404 or 500, and no page
logs a JavaScript error."""

from urllib.parse import urlsplit

import pytest

from tests.access.world import build
from tests.browser import browser_page  # noqa: F401  (fixture)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Role → where its login lands (the home made for it).
HOMES = {
    "grid_worker": "/", "community_worker": "/", "street_officer": "/", "department_handler": "/",
    "district_supervisor": "/", "supervisor": "/", "volunteer": "/volunteers/", "admin": "/",
}
MENU_LINKS = "() => [...document.querySelectorAll('a[data-nav]')].map(a => a.getAttribute('href'))"


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-123456")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


def _crawl(context, base: str, role: str) -> tuple[list[str], list[str]]:
    """Log in as ``role``, visit its menus two levels deep; returns (visited, problems)."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console error on {page.url}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"JS error on {page.url}: {exc}"))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url} (from {page.url})")
            if r.status in (403, 404) or r.status >= 500 else None)
    _login(page, base, role)
    home = urlsplit(page.url).path
    assert home == HOMES[role], (role, page.url)
    assert "尚未分配岗位" not in page.content(), role
    level1 = page.evaluate(MENU_LINKS)
    assert level1, f"{role}: no menu on its home"
    visited = {home}
    queue = [(u, 1) for u in level1]
    while queue:
        url, depth = queue.pop(0)
        if url in visited:
            continue
        visited.add(url)
        response = page.goto(f"{base}{url}")
        # Every request the page makes (maps' outlines, htmx fragments) has answered.
        page.wait_for_load_state("networkidle")
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        if response is None or response.status >= 400:
            problems.append(f"{response.status if response else 'no response'} {url}")
            continue
        if depth < 2:
            queue += [(u, depth + 1) for u in page.evaluate(MENU_LINKS) if u not in visited]
    page.close()
    return sorted(visited), problems


def test_every_role_crawls_its_menus_two_levels_deep(browser_page, live_server):  # noqa: F811
    build()
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    browser = browser_page.context.browser
    seen = {}
    all_problems = []
    for role in HOMES:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        try:
            visited, problems = _crawl(context, live_server.url, role)
        finally:
            context.close()
        seen[role] = visited
        all_problems += [f"{role}: {p}" for p in problems]
    assert all_problems == [], "\n".join(all_problems)
    # The crawl reached what each role works with, and nothing that is not theirs.
    assert "/appeals/patrol/" in seen["grid_worker"]
    assert all("/appeals/patrol/" not in seen[r] for r in HOMES if r != "grid_worker")
    assert "/volunteers/hall/" in seen["volunteer"] and "/appeals/" not in seen["volunteer"]
    assert not any(u.startswith("/volunteers/") for u in seen["department_handler"])
    assert "/reports/staffing/" in seen["supervisor"] and "/admin/" in seen["admin"]
    assert len(seen["community_worker"]) >= 12, seen["community_worker"]
