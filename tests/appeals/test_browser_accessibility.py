"""Accessibility of the residents' pages (issue 20, item 5): axe-core, vendored from npm
(static/vendor/axe-core/axe.min.js), run in Chromium at a phone's size (390×844) on every
public page — the submit form (empty, with errors, with the browser's photo and counter messages, in 长者模式), the page after submitting,
the tracking lookup, the last-4-digits check (also after a wrong guess), the tracking page
(with the map, the withdraw offer, then the evaluation form), the withdraw page, the
rate-limit page and the not-found page — finds no serious or critical violation.

axe is injected by the test only (the pages never load it); the context bypasses the
Content-Security-Policy for that injection alone. Open311 has no HTML pages (JSON/XML).
"""

from pathlib import Path

import pytest
from django.conf import settings as django_settings

from appeals import services
from appeals.enums import AppealAction, AppealState
from appeals.models import Appeal
from tests.appeals.factories import grid_category
from tests.browser import choose_place, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(django_settings.BASE_DIR) / "static" / "vendor" / "axe-core" / "axe.min.js"
PHONE_NUMBER = "13812345678"
SEVERE = ("serious", "critical")


@pytest.fixture
def axe_page(live_server):
    # axe is injected into the page, which the CSP would refuse; a page's own errors still count.
    with chromium_page(console_errors=False, viewport={"width": 390, "height": 844}, has_touch=True,
                       bypass_csp=True) as page:
        yield page


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + n.failureSummary)}));
    }""")
    return [v for v in found if v["impact"] in SEVERE]


def test_axe_is_vendored_and_never_loaded_by_the_pages():
    assert AXE.exists() and AXE.read_text()[:40].startswith("/*! axe v4.")
    templates = Path(django_settings.BASE_DIR) / "templates"
    assert not [p for p in templates.rglob("*.html") if "axe" in p.read_text()]


def test_no_serious_or_critical_axe_violation_on_the_public_pages(city, axe_page, live_server, settings):
    settings.APPEAL_INTAKE_RATE_PER_PHONE = "1/day"
    page, base = axe_page, live_server.url
    category = grid_category()
    city.building_a1.latitude, city.building_a1.longitude = "39.950000", "116.310000"
    city.building_a1.save(update_fields=["latitude", "longitude"])
    report: dict[str, list] = {}

    def check(label: str) -> None:
        report[label] = axe_violations(page)

    page.goto(f"{base}/submit/")
    page.wait_for_selector("#submit-map.leaflet-container")
    check("submit")
    page.click("#large-text-toggle")
    check("submit 长者模式")
    page.click("#large-text-toggle")

    # Sent with nothing filled in but the category: the server's errors.
    page.select_option("#id_category", str(category.pk))
    page.fill("#id_description", "路灯不亮")
    page.fill("#id_phone", "010-12345678")
    page.click("button.public-submit")
    page.wait_for_selector("#form-errors")
    check("submit with errors")
    # The browser's own messages: a refused photo, a description near its limit.
    page.set_input_files("#id_photos", files=[{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF"}])
    page.wait_for_selector("#photo-check li")
    page.fill("#id_description", "字" * 3900)
    page.wait_for_selector("#description-counter.near")
    check("submit, photo refused and counter warning")
    page.fill("#id_description", "路灯不亮")

    choose_place(page, street=city.street_a, community=city.comm_a, building=city.building_a1)
    page.fill("#id_phone", PHONE_NUMBER)
    page.click("button.public-submit")
    page.wait_for_url(f"{base}/submit/done/")
    check("submit done")
    code = page.inner_text("#tracking-code").strip()

    page.click("a.public-big")
    page.wait_for_selector(".public-timeline")
    check("track detail (withdraw offered, map)")
    page.goto(f"{base}/track/{code}/withdraw/")
    check("track withdraw")

    appeal = Appeal.objects.get(tracking_code=code)
    appeal = services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=AppealAction.SIGN)
    appeal = services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=AppealAction.RESOLVE,
                                 result="已更换路灯。")
    assert appeal.state == AppealState.AWAITING_EVALUATION
    page.goto(f"{base}/track/{code}/")
    page.wait_for_selector("#evaluate")
    check("track detail (evaluation form)")

    # The same phone again: over the day's limit.
    page.goto(f"{base}/submit/")
    page.select_option("#id_street", city.street_a.code)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    page.fill("#id_address_text", "东门外")
    page.select_option("#id_category", str(category.pk))
    page.fill("#id_description", "又坏了")
    page.fill("#id_phone", PHONE_NUMBER)
    page.click("button.public-submit")
    page.wait_for_selector("text=上限")
    check("rate limited")

    # Another phone, no session: the lookup, the digits check, a wrong guess.
    page.context.clear_cookies()
    page.goto(f"{base}/track/")
    check("track lookup")
    page.goto(f"{base}/track/{code}/")
    check("track verify")
    page.fill("input[name=phone_last4]", "0000")
    page.click("button[type=submit]")
    page.wait_for_selector(".public-alert")
    check("track verify, wrong guess")
    page.goto(f"{base}/no-such-page/")
    check("not found")
    # 民主协商公示 (issue 22): a held hearing with its show of hands and a decision.
    from appeals.deliberation import services as meetings  # noqa: PLC0415

    meeting = meetings.meeting_schedule(actor=city.users.community_worker, community_code=city.comm_a.code,
                                        kind="hearing", topic="停车难", place="议事厅", starts_at=appeal.created_at)
    meetings.meeting_record(actor=city.users.community_worker, meeting=meeting, residents_count=9, minutes="纪要",
                            votes=(6, 2, 1))
    meetings.decision_add(actor=city.users.community_worker, meeting=meeting, kind="decision", text="施划车位",
                          owner="物业", due_date=appeal.created_at.date())
    page.goto(f"{base}/notice/{city.comm_a.code}/")
    check("deliberation notice")

    failures = {label: found for label, found in report.items() if found}
    assert len(report) == 14
    assert not failures, "\n".join(
        f"{label}: {v['impact']} {v['id']} ({v['help']})\n    " + "\n    ".join(v["nodes"])
        for label, found in failures.items() for v in found
    )
    assert page.console_errors == []
