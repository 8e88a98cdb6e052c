#!/usr/bin/env python
"""Screenshots of each demo role's home (issue 19), from a running demo (``make run``, or
``manage.py runserver`` on a database seeded by ``seed_demo``):

    python docs/screenshots/capture_homes.py http://localhost:8000

Logs in as every demo account (governance/demo/accounts.py) and writes
home-<account>.png beside this file: the page each lands on after login — the 工作台 with
its role's menus and shortcuts, the volunteer's 我的志愿. Uses Debian's Chromium, as the
tests do (capture.py beside this file takes the maps)."""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
PASSWORD = "gongzhi-demo"
ACCOUNTS = ["grid_worker", "community_worker", "street_officer", "department_handler", "supervisor",
            "volunteer", "admin"]


def main(base: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        for username in ACCOUNTS:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(HERE / f"home-{username}.png"), full_page=True)
            print(username, "→", page.url)
            context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"))
