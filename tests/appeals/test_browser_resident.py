"""Issue 20 in a real browser (Debian's Chromium) on a phone-sized screen (390×844):
我的诉求 with the one-time code and its limits, the tracking page with the photos and a
补充 with a photo that reaches the handler, and 匿名's masked phone with its logged reveal.

Screenshots of the resident pages go to a temporary folder, or to the folder named by
GONGZHI_SCREENSHOTS (docs/screenshots/ for the ones kept in the repository)."""

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from appeals import services
from appeals.enums import AppealAction, AttachmentKind
from appeals.models import AppealAttachment, AppealEvent
from governance.enums import NotificationKind
from governance.models import AccessLog, Notification
from tests.appeals.factories import grid_category, receive
from tests.browser import CHROMIUM_ARGS, login_as
from tests.factories import make_city

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13812345678"
PHONE_SIZE = {"width": 390, "height": 844}


@pytest.fixture
def browser(live_server):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            from django.db import connections

            connections.close_all()


def phone_page(browser):
    """A resident's phone: 390×844, errors of the page collected."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE_SIZE, device_scale_factor=2)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    return page


def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("GONGZHI_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def photo(color, size=(1600, 1200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def newest_code(sms_outbox) -> str:
    return [m.params["code"] for m in sms_outbox if m.template == "phone_code"][-1]


def test_my_appeals_with_the_code_then_a_supplement_with_a_photo_reaches_the_handler(
        browser, live_server, sms_outbox, tmp_path):
    city = make_city()
    category = grid_category()
    from django.core.files.uploadedfile import SimpleUploadedFile

    appeal = receive(city, category=category, phone=PHONE, photos=[SimpleUploadedFile("a.jpg", photo("orange"))],
                     description="和平里1号楼东侧垃圾站三天没有清运，气味很大。")
    older = receive(city, category=category, phone=PHONE, description="小区北门路灯不亮，晚上出行不便。")
    receive(city, category=category, phone="13900001111", description="别人的诉求")
    out = shots(tmp_path)
    page = phone_page(browser)

    # 1. The phone, then the code: a wrong code says how many tries are left; asking again
    #    within 60 s is refused with the seconds to wait.
    page.goto(f"{live_server.url}/my/")
    page.fill("#id_phone", PHONE)
    page.click("#my-phone-form button[type=submit]")
    page.wait_for_selector("#my-code-form")
    assert "138****5678" in page.inner_text("#my-code-form") and PHONE not in page.content()
    assert PHONE not in page.url
    page.screenshot(path=str(out / "resident-my-code.png"), full_page=True)
    code = newest_code(sms_outbox)
    page.fill("#id_code", "000000" if code != "000000" else "111111")
    page.click("#my-code-form button[type=submit]")
    page.wait_for_selector("text=还可尝试 4 次")
    page.click("#my-resend")
    page.wait_for_selector("#my-error")
    assert "秒后再重新获取" in page.inner_text("#my-error")
    assert len([m for m in sms_outbox if m.template == "phone_code"]) == 1, "no second code within 60 s"
    # The browser logs the wrong code's 400 and the refusal's 429 as failed loads: meant.
    assert all("status of 400" in e or "status of 429" in e for e in page.console_errors), page.console_errors
    page.console_errors.clear()
    page.fill("#id_code", code)
    page.click("#my-code-form button[type=submit]")

    # 2. The list: this phone's appeals only, each a link to its tracking page.
    page.wait_for_selector("#my-list")
    listed = page.inner_text("#my-list")
    assert appeal.tracking_code in listed and older.tracking_code in listed and "别人的诉求" not in listed
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE_SIZE["width"], "no sideways scroll"
    page.screenshot(path=str(out / "resident-my-appeals.png"), full_page=True)

    # 3. The tracking page, opened from the list without the digits: the photo, resized.
    page.click(f"#my-list a[href='/track/{appeal.tracking_code}/']")
    page.wait_for_selector("#resident-photos img")
    page.locator("#resident-photos").scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('#resident-photos img')]"
                           ".every(img => img.complete && img.naturalWidth > 0)")
    assert page.evaluate("() => document.querySelector('#resident-photos img').naturalWidth") == 1280

    # 4. A 补充 with a photo.
    page.fill("#id_text", "今天又多了几袋，已拍照。")
    page.set_input_files("#id_photos", files=[{"name": "more.jpg", "mimeType": "image/jpeg",
                                                "buffer": photo("green", (800, 600))}])
    page.click("#supplement button[type=submit]")
    page.wait_for_selector("text=补充已提交")
    page.locator("#resident-photos").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('#resident-photos img').length === 2"
                           " && [...document.querySelectorAll('#resident-photos img')]"
                           ".every(img => img.complete && img.naturalWidth > 0)")
    assert "今天又多了几袋，已拍照。" in page.inner_text(".public-timeline")
    page.screenshot(path=str(out / "resident-track-photos.png"), full_page=True)
    event = AppealEvent.objects.get(appeal=appeal, action=AppealAction.SUPPLEMENT)
    added = AppealAttachment.objects.get(event=event, kind=AttachmentKind.SUPPLEMENT)
    assert page.console_errors == []

    # 5. The handler: the inbox message, then the text and the photo on the appeal.
    staff = browser.new_context(locale="zh-CN", viewport=PHONE_SIZE).new_page()
    login_as(staff, live_server, "grid_worker")
    assert Notification.objects.filter(recipient=city.users.grid_worker, kind=NotificationKind.SUPPLEMENT).exists()
    staff.goto(f"{live_server.url}/notifications/")
    row = staff.locator("tr", has_text=f"居民补充：诉求 {appeal.tracking_code}")
    # One line per appeal: the dispatch at intake and the 补充, unfolded to read.
    assert "共 2 条，未读 2 条" in row.inner_text()
    row.locator("summary").click()
    assert "附照片 1 张" in row.inner_text()
    row.locator("button[name=open]").click()
    staff.wait_for_url(f"{live_server.url}/appeals/{appeal.tracking_code}/")
    supplement = staff.locator("li.event-supplement")
    assert "今天又多了几袋，已拍照。" in supplement.inner_text()
    img = supplement.locator(f"img[src='/appeals/{appeal.tracking_code}/photos/{added.pk}/']")
    img.wait_for()
    img.scroll_into_view_if_needed()  # loading="lazy": it loads once on screen
    staff.wait_for_function("() => { const i = document.querySelector('li.event-supplement img');"
                            " return i && i.complete && i.naturalWidth === 800; }")
    staff.context.close()

    # 6. Another appeal of the list, resolved with a photo and rated: the result photo and
    #    the rating on its tracking page.
    u = city.users
    done = services.appeal_act(actor=u.grid_worker, appeal=older, action=AppealAction.SIGN, contact=True)
    done = services.appeal_act(actor=u.grid_worker, appeal=done, action=AppealAction.RESOLVE,
                               result="已更换北门路灯灯泡，夜间照明恢复正常。",
                               photos=[SimpleUploadedFile("lamp.jpg", photo("navy", (2400, 1800)))])
    services.appeal_evaluate(tracking_code=older.tracking_code, phone_last4=PHONE[-4:], solved=True,
                             rating="satisfied", comment="修得很快，谢谢！")
    page.goto(f"{live_server.url}/my/")
    page.click(f"#my-list a[href='/track/{older.tracking_code}/']")
    page.wait_for_selector("#result-photos img")
    page.locator("#result-photos").scroll_into_view_if_needed()
    page.wait_for_function("() => { const i = document.querySelector('#result-photos img');"
                           " return i.complete && i.naturalWidth === 1280; }")
    assert "满意" in page.inner_text("#my-rating") and "修得很快，谢谢！" in page.inner_text("#my-rating")
    assert page.locator("#supplement").count() == 0, "a closed appeal takes no 补充"
    page.screenshot(path=str(out / "resident-track-result.png"), full_page=True)
    assert page.console_errors == []

    # 6. 退出: the list and the tracking page need the proof again.
    page.goto(f"{live_server.url}/my/")
    page.click("#my-logout")
    page.wait_for_selector("#my-phone-form")
    page.goto(f"{live_server.url}/track/{appeal.tracking_code}/")
    page.wait_for_selector("input[name=phone_last4]")
    page.context.close()


def test_anonymous_phone_is_masked_and_the_reveal_is_access_logged(browser, live_server, tmp_path):
    city = make_city()
    appeal = receive(city, category=grid_category(), phone=PHONE, anonymous=True)
    staff = browser.new_context(locale="zh-CN", viewport=PHONE_SIZE).new_page()
    login_as(staff, live_server, "grid_worker")
    staff.goto(f"{live_server.url}/appeals/{appeal.tracking_code}/")
    phone = staff.locator("#resident-phone")
    assert "138****5678" in phone.inner_text() and PHONE not in staff.content()
    assert not AccessLog.objects.exists()
    staff.click("#phone-reveal")
    staff.wait_for_selector(f"#resident-phone a[href='tel:{PHONE}']")
    entry = AccessLog.objects.get()
    assert entry.user == city.users.grid_worker and entry.subject == f"appeal:{appeal.tracking_code}:phone"
    assert entry.action == "view"
    staff.context.close()
