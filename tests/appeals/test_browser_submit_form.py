"""The residents' submit form in Chromium at a phone's size (issue 20, "the submit form"):
- the building chosen in the street → community → building lists is the one submitted,
  over 20 fills on a slow network with the map on the page, and also when a building is
  picked on the map while the lists are still loading;
- after a server-side error the first error is in view with the focus on its field, and
  the page says the photos have to be chosen again;
- photos are checked for type and size before upload, against the server's limits;
- the description's counter warns before the limit and blocks past it, never cutting;
- 长者模式 is remembered by the browser and applied before the first paint.

The test city's 甲一社区 gets 24 more buildings, so that a street's list (capped at
appeals.public_selectors.PLACE_LIMIT) holds none of 甲二社区's: a list loaded for the street
alone cannot keep a building of 甲二社区 chosen.
"""

import io

import pytest
from PIL import Image

from appeals.enums import AppealState
from appeals.models import Appeal
from appeals.public_selectors import PLACE_LIMIT, building_search
from grids.models import Building
from tests.appeals.factories import grid_category
from tests.browser import choose_place, chromium_page, lists_settled
from tests.factories import BuildingFactory, make_city

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_SIZE = {"width": 390, "height": 844}
EXTRA_BUILDINGS = 24


@pytest.fixture
def phone(live_server):
    """A phone-sized page (390×844) in Debian's Chromium, with console errors collected."""
    with chromium_page(viewport=PHONE_SIZE, has_touch=True) as page:
        yield page


@pytest.fixture
def big_city():
    city = make_city()
    for n in range(EXTRA_BUILDINGS):
        BuildingFactory(grid=city.grid_a1, code=f"{city.grid_a1.code}{n + 10:04d}", address=f"和平里{n + 10}号楼")
    # The buildings near the pin of the map test (甲二社区's, at 116.37 E).
    city.building_b1.latitude, city.building_b1.longitude = "39.950000", "116.370000"
    city.building_b1.save(update_fields=["latitude", "longitude"])
    return city


def _png(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


def test_the_chosen_building_is_kept_and_submitted_over_20_fills(big_city, phone, live_server, settings):
    """As a resident on a slow phone network (120 ms a request): the street, then the community
    once its list is there, then the building once its list is there — the building list loads
    for the street and again for the community; or the street, then a building the map offers
    nearby while the street's lists are still loading. The chosen building stays, and is the
    one submitted."""
    settings.APPEAL_INTAKE_RATE_PER_IP = "1000/hour"
    city, page = big_city, phone
    category = grid_category()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 120, "downloadThroughput": -1, "uploadThroughput": -1})
    # Alternately a building of 甲一社区 (also in the street's list) and of 甲二社区 (not in it).
    third = Building.objects.get(code=f"{city.grid_a1.code}0015")
    targets = [(city.comm_a, city.building_a1), (city.comm_a2, city.building_b1), (city.comm_a, third)]
    kept = 0
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": 39.9501, "longitude": 116.3701})  # by 甲二社区's building
    for i in range(20):
        community, building = targets[i % len(targets)]
        page.goto(f"{live_server.url}/submit/")
        page.wait_for_selector("#submit-map.leaflet-container")
        if building == city.building_b1:
            # Located first; the resident chooses the street in the list, then taps the
            # building the map offers nearby while the street's lists are on their way.
            page.click("#use-location")
            page.wait_for_selector("#nearby-places .nearby-building")
            page.select_option("#id_street", city.street_a.code)
            page.click("#nearby-places .nearby-building")
        else:
            page.select_option("#id_street", city.street_a.code)
            page.wait_for_selector(f"#id_community option[value='{community.code}']", state="attached")
            page.select_option("#id_community", community.code)
            page.wait_for_selector(f"#id_building option[value='{building.code}']", state="attached")
            page.select_option("#id_building", building.code)
        lists_settled(page)
        assert page.input_value("#id_community") == community.code, f"fill {i + 1}"
        chosen = page.input_value("#id_building")
        assert chosen == building.code, f"fill {i + 1}: the building chosen was reset to {chosen!r}"
        page.select_option("#id_category", str(category.pk))
        page.fill("#id_description", f"第{i + 1}次：楼道灯坏了，晚上很黑。")
        page.fill("#id_phone", f"139{i:08d}")
        page.click("button.public-submit")
        page.wait_for_url(f"{live_server.url}/submit/done/")
        code = page.inner_text("#tracking-code").strip()
        appeal = Appeal.objects.get(tracking_code=code)
        assert appeal.building.code == building.code, f"fill {i + 1}: submitted {appeal.building}"
        kept += 1
    assert kept == 20
    assert Appeal.objects.filter(state=AppealState.DISPATCHED).count() == 20
    assert page.console_errors == []


def test_a_building_picked_on_the_map_while_the_lists_load_is_kept(big_city, phone, live_server):
    """The street is chosen; its community and building lists are still on the way when the
    resident picks a nearby building on the map. The lists that come back must not undo the
    pick: the loads asked for before it are cancelled, and the lists reload for it."""
    city, page = big_city, phone
    # The street's own list is full of 甲一社区's buildings: it cannot keep 甲二社区's pick.
    street_list = building_search(street=city.street_a.code)
    assert len(street_list.items) == PLACE_LIMIT and city.building_b1.code not in [b["code"] for b in street_list.items]
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": 39.9501, "longitude": 116.3701})
    page.goto(f"{live_server.url}/submit/")
    page.click("#use-location")
    page.wait_for_selector("#nearby-places .nearby-building")

    held, holding = [], {"on": True}

    def hold(route):
        if holding["on"]:
            held.append(route)
        else:
            route.continue_()

    page.route("**/places/communities/**", hold)
    page.route("**/places/buildings/**", hold)
    page.select_option("#id_street", city.street_a.code)
    page.wait_for_function("() => document.querySelectorAll('.htmx-request').length >= 2")
    assert len(held) == 2  # the street's communities and the street's buildings, both pending

    page.click("#nearby-places .nearby-building")
    holding["on"] = False
    for route in held:  # the answers to the street alone arrive after the pick
        try:
            route.continue_()
        except Exception:  # noqa: BLE001 — cancelled by the page: nothing to answer
            pass
    lists_settled(page)
    assert page.input_value("#id_street") == city.street_a.code
    assert page.input_value("#id_community") == city.comm_a2.code
    assert page.input_value("#id_building") == city.building_b1.code
    # The lists are those of the pick: 甲二社区's buildings, with the one picked selected.
    options = page.eval_on_selector_all("#id_building option", "os => os.map(o => o.value)")
    assert city.building_b1.code in options and city.building_a1.code not in options
    assert "已选择楼栋" in page.inner_text("#location-status")
    assert page.console_errors == []


def test_a_form_sent_while_a_list_reloads_waits_for_it_and_keeps_the_building(big_city, phone, live_server):
    """A list is disabled while it reloads (and a disabled list is not sent): the resident who
    taps 提交 right after picking a building on the map is not told to choose a place."""
    city, page = big_city, phone
    category = grid_category()
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": 39.9501, "longitude": 116.3701})
    page.goto(f"{live_server.url}/submit/")
    page.select_option("#id_category", str(category.pk))
    page.fill("#id_description", "单元门禁坏了，关不上。")
    page.fill("#id_phone", "13612345678")
    page.click("#use-location")
    page.wait_for_selector("#nearby-places .nearby-building")
    held = []
    page.route("**/places/buildings/**", lambda route: held.append(route))
    page.click("#nearby-places .nearby-building")  # the lists reload for the pick
    page.wait_for_function("() => document.getElementById('id_building').disabled")
    page.click("button.public-submit")
    page.locator("#place-loading").wait_for(state="visible")
    assert page.url == f"{live_server.url}/submit/"  # not sent yet
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_url(f"{live_server.url}/submit/done/")
    appeal = Appeal.objects.get()
    assert appeal.building.code == city.building_b1.code
    assert page.console_errors == []


def test_after_a_server_error_the_first_error_is_in_view_and_focused_and_the_photo_notice_stays(
        city, phone, live_server):
    page = phone
    category = grid_category()
    page.goto(f"{live_server.url}/submit/")
    # No place at all, and a landline: both refused by the server.
    page.select_option("#id_category", str(category.pk))
    page.fill("#id_description", "小区门口的路灯不亮。")
    page.set_input_files("#id_photos", files=[{"name": "lamp.png", "mimeType": "image/png", "buffer": _png()}])
    page.fill("#id_phone", "010-12345678")
    page.click("button.public-submit")
    page.wait_for_selector("#form-errors")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'id_street'")
    box = page.evaluate("""() => { const r = document.getElementById('id_street').getBoundingClientRect();
        const e = document.getElementById('id_street-errors').getBoundingClientRect();
        return {top: r.top, bottom: e.bottom, height: innerHeight, scrolled: scrollY}; }""")
    assert box["scrolled"] > 0 and 0 <= box["top"] and box["bottom"] <= box["height"], box
    assert "请在地图上标出位置" in page.inner_text("#id_street-errors")
    assert page.is_visible("#id_phone-errors")  # the later errors are shown too
    notice = page.locator("#photo-notice")
    assert notice.is_visible() and "1 张照片" in notice.inner_text()
    assert "1 张照片需要重新选择" in page.inner_text("#form-errors")
    assert page.get_attribute("#id_street", "aria-invalid") == "true"
    assert page.console_errors == []


def test_photos_are_checked_in_the_browser_before_upload(city, phone, live_server, settings):
    settings.APPEAL_PHOTO_MAX_BYTES = 2 * 1024 * 1024  # the server's setting is the browser's limit
    page = phone
    category = grid_category()
    page.goto(f"{live_server.url}/submit/")
    assert page.get_attribute("#id_photos", "data-max-bytes") == str(2 * 1024 * 1024)
    big = b"\xff\xd8\xff\xe0" + b"0" * (3 * 1024 * 1024)
    page.set_input_files("#id_photos", files=[
        {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": big},
        {"name": "notes.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"},
        {"name": "ok.png", "mimeType": "image/png", "buffer": _png()},
    ])
    check = page.locator("#photo-check")
    check.wait_for(state="visible")
    text = check.inner_text()
    assert "照片“big.jpg”超过 2 MB" in text and "文件“notes.pdf”不是 JPEG 或 PNG 照片" in text
    assert "其余 1 张照片已选好" in text
    assert page.evaluate("() => Array.from(document.getElementById('id_photos').files).map(f => f.name)") == ["ok.png"]

    # Submitted, only the photo that passed travels: the 3 MB file never leaves the phone.
    uploads = []
    page.on("request", lambda r: uploads.append(len(r.post_data_buffer or b"")) if r.method == "POST" else None)
    choose_place(page, street=city.street_a, community=city.comm_a, building=city.building_a1)
    page.select_option("#id_category", str(category.pk))
    page.fill("#id_description", "井盖松动，走过去会响。")
    page.fill("#id_phone", "13712345678")
    page.click("button.public-submit")
    page.wait_for_url(f"{live_server.url}/submit/done/")
    appeal = Appeal.objects.get()
    assert appeal.attachments.count() == 1
    assert uploads and max(uploads) < 200_000, uploads

    # Too many photos: the choice is refused as a whole, with the count.
    page.goto(f"{live_server.url}/submit/")
    page.set_input_files("#id_photos", files=[
        {"name": f"p{n}.png", "mimeType": "image/png", "buffer": _png()} for n in range(settings.APPEAL_PHOTO_MAX_COUNT + 1)
    ])
    page.locator("#photo-check").wait_for(state="visible")
    assert f"最多上传 {settings.APPEAL_PHOTO_MAX_COUNT} 张照片" in page.inner_text("#photo-check")
    assert page.evaluate("() => document.getElementById('id_photos').validity.valid") is False
    assert page.console_errors == []


def test_the_counter_warns_before_the_limit_and_never_cuts(city, phone, live_server):
    page = phone
    page.goto(f"{live_server.url}/submit/")
    counter = page.locator("#description-counter")
    assert counter.get_attribute("data-max") == "4000"  # the form field's max_length
    page.fill("#id_description", "字" * 3500)
    assert "已输入 3500 / 4000 字" in counter.inner_text()
    assert "near" not in counter.get_attribute("class")
    page.fill("#id_description", "字" * 3700)
    assert "还可输入 300 字" in counter.inner_text() and "near" in counter.get_attribute("class")
    assert "还可输入 300 字" in page.inner_text("[data-counter-state]")  # said to a screen reader once
    page.fill("#id_description", "字" * 4100)
    # Nothing cut: the whole text stays, the excess is named, the form is not sent.
    assert page.evaluate("() => document.getElementById('id_description').value.length") == 4100
    assert "超出 100 字" in counter.inner_text() and "over" in counter.get_attribute("class")
    assert page.evaluate("() => document.getElementById('id_description').validity.valid") is False
    page.click("button.public-submit")
    assert page.url == f"{live_server.url}/submit/"
    assert page.evaluate("() => document.activeElement.id") in ("id_street", "id_category", "id_description")
    page.fill("#id_description", "字" * 4000)
    assert page.evaluate("() => document.getElementById('id_description').validity.valid") is True
    # Characters as the server counts them: an emoji is one, a line break is one.
    page.fill("#id_description", "😀\n好")
    assert "已输入 3 / 4000 字" in counter.inner_text()
    assert page.console_errors == []


def test_large_text_mode_is_remembered_and_applied_before_the_first_paint(city, phone, live_server):
    page = phone
    page.goto(f"{live_server.url}/submit/")
    toggle = page.locator("#large-text-toggle")
    assert toggle.get_attribute("aria-pressed") == "false"
    normal = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#id_description')).fontSize)")
    submit_height = page.evaluate("() => document.querySelector('.public-submit').getBoundingClientRect().height")
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    large = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#id_description')).fontSize)")
    assert large >= normal * 1.2
    assert page.evaluate("() => document.querySelector('.public-submit').getBoundingClientRect().height") >= max(
        60, submit_height)
    assert page.evaluate("() => document.querySelector('#id_phone').getBoundingClientRect().height") >= 56

    # Another page, later: the choice is applied in <head>, before <body> exists.
    page.add_init_script("""
        new MutationObserver((records, observer) => {
          if (document.body) { window.__largeAtBody = document.documentElement.classList.contains('gz-large');
                               observer.disconnect(); }
        }).observe(document, {childList: true, subtree: true});
    """)
    page.goto(f"{live_server.url}/track/")
    assert page.evaluate("() => window.__largeAtBody") is True
    assert page.get_attribute("#large-text-toggle", "aria-pressed") == "true"
    page.click("#large-text-toggle")
    page.goto(f"{live_server.url}/submit/")
    assert page.evaluate("() => window.__largeAtBody") is False
    assert page.console_errors == []
