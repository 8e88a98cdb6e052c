#!/usr/bin/env python
"""Screenshots of the three maps (issue 21), with no tile server configured, from a
running demo (``make run``, or ``manage.py runserver`` on a seeded database):

    python docs/screenshots/capture.py http://localhost:8000 LAT LON

    python docs/screenshots/capture.py http://localhost:8000 --resident

LAT LON: the resident's phone position (WGS-84), e.g. a building of the demo grid.
--resident: only the residents' submit page at a phone's size (390×844, issue 20):
resident-submit.png and resident-submit-large.png (长者模式), the whole page.
Writes submit-map.png (the resident's form after 使用我的位置), queue-map.png (the
community worker's queue map) and choropleth.png (the city supervisor's map, drilled to
a street's communities) beside this file. Uses Debian's Chromium, as the tests do."""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
PASSWORD = "gongzhi-demo"


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def resident_submit(browser, base: str) -> None:
    """The submit page on a phone, normal and in 长者模式 (the switch in the menu)."""
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                has_touch=True)
    page = phone.new_page()
    page.goto(f"{base}/submit/")
    page.wait_for_selector("#submit-map.leaflet-container")
    page.screenshot(path=str(HERE / "resident-submit.png"), full_page=True)
    page.click("#large-text-toggle")
    page.wait_for_function("() => document.documentElement.classList.contains('gz-large')")
    page.screenshot(path=str(HERE / "resident-submit-large.png"), full_page=True)
    phone.close()


def main(base: str, lat: float, lon: float) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        resident = browser.new_context(locale="zh-CN", viewport={"width": 430, "height": 1100},
                                       geolocation={"latitude": lat, "longitude": lon}, permissions=["geolocation"],
                                       device_scale_factor=2)
        page = resident.new_page()
        page.goto(f"{base}/submit/")
        page.click("#use-location")
        page.wait_for_selector("#nearby-places .nearby-building")
        page.locator("#nearby-places .nearby-building").first.click()
        page.wait_for_timeout(500)
        page.locator("fieldset.card").first.screenshot(path=str(HERE / "submit-map.png"))
        resident.close()
        resident_submit(browser, base)

        staff = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = staff.new_page()
        login(page, base, "community_worker")
        page.goto(f"{base}/appeals/map/")
        page.wait_for_function("document.getElementById('queue-map').dataset.loaded !== undefined")
        page.wait_for_timeout(800)
        page.screenshot(path=str(HERE / "queue-map.png"), full_page=True)
        staff.close()

        supervisor = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = supervisor.new_page()
        login(page, base, "supervisor")
        page.goto(f"{base}/reports/map/?measure=composite")
        page.wait_for_function("document.getElementById('choropleth').dataset.level === 'district'")
        page.wait_for_timeout(800)
        page.screenshot(path=str(HERE / "choropleth-city.png"), full_page=True)
        page.select_option("#id_level", "community")
        page.wait_for_function("document.getElementById('choropleth').dataset.level === 'community'")
        page.wait_for_timeout(800)
        page.screenshot(path=str(HERE / "choropleth.png"), full_page=True)
        supervisor.close()
        browser.close()


if __name__ == "__main__":
    if sys.argv[2:3] == ["--resident"]:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            resident_submit(chromium, sys.argv[1].rstrip("/"))
            chromium.close()
    else:
        main(sys.argv[1].rstrip("/"), float(sys.argv[2]), float(sys.argv[3]))
