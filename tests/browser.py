"""Playwright driving Debian's Chromium (never a downloaded browser)."""

import os
from contextlib import contextmanager

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@contextmanager
def chromium_page(*, console_errors: bool = True, **context_options):
    """A page in Debian's Chromium (zh-CN, 1280×900 unless ``context_options`` say
    otherwise); ``page.console_errors`` collects page errors and, with ``console_errors``,
    the console's errors too."""
    # Playwright's sync API runs an event loop; the ORM in the live server thread is fine,
    # but Django refuses sync DB calls from this thread without this flag.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(**{"locale": "zh-CN", "viewport": {"width": 1280, "height": 900},
                                         **context_options})
        page = context.new_page()
        errors: list[str] = []
        if console_errors:
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.console_errors = errors
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # ORM calls made in the test body while Playwright's loop runs get a
            # connection of their own context; close it, or the test database
            # cannot be dropped at the end of the session.
            from django.db import connections

            connections.close_all()


@pytest.fixture
def browser_page(live_server):
    with chromium_page() as page:
        yield page


def login_as(page, live_server, username: str, password: str = "pw-123456") -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    # Each role lands on its home: the 工作台 at /, a volunteer's 我的志愿 at /volunteers/.
    page.wait_for_url(lambda url: url.startswith(live_server.url) and "/accounts/login/" not in url)
    page.wait_for_load_state("load")


def lists_settled(page) -> None:
    """Every place list of the submit form has answered: no htmx request under way, no
    list disabled by one (a state to wait on, never a time)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request') && !document.querySelector('select[data-disabled-by-htmx]')"
    )


def choose_place(page, *, street, community, building) -> None:
    """Street → community → building on the residents' submit form, each list waited for;
    returns once the lists have settled with the building still chosen."""
    page.select_option("#id_street", street.code)
    page.wait_for_selector(f"#id_community option[value='{community.code}']", state="attached")
    page.select_option("#id_community", community.code)
    page.wait_for_selector(f"#id_building option[value='{building.code}']", state="attached")
    page.select_option("#id_building", building.code)
    lists_settled(page)
    assert page.input_value("#id_building") == building.code
