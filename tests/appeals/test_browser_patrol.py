"""Issue 19 §3 in Chromium: the grid worker opens 巡查上报 from the home page, chooses a
photo and writes the description, then searches buildings — with the 搜索 button and with
Enter — and nothing reloads: the photo, the description and the token stay in the form,
not in the URL. Submitting saves the photo, and the appeal follows the 主动发现 rule
(on the finder's own grid it starts 办理中, with no 先行联系)."""


import pytest

from appeals.enums import AppealState, Source
from appeals.models import Appeal
from tests.appeals.factories import grid_category
from tests.browser import browser_page, login_as  # noqa: F401  (fixture)
from tests.factories import make_city
from tests.helpers import photo_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESCRIPTION = "和平里1号楼东侧井盖破损，已设置临时警示。"


def test_patrol_search_keeps_the_photo_and_the_text(browser_page, live_server, tmp_path):  # noqa: F811
    city = make_city()
    category = grid_category()
    page = browser_page
    login_as(page, live_server, "grid_worker")
    page.click("#shortcuts [data-shortcut=patrol]")
    page.wait_for_selector("#id_bq")
    form_url = page.url
    assert form_url.endswith("/appeals/patrol/")
    page.set_input_files("#id_photos", photo_file(tmp_path, "patrol.jpg"))
    page.fill("#id_description", DESCRIPTION)
    page.select_option("#id_category", str(category.pk))

    # The 搜索 button: results come in place.
    page.fill("#id_bq", "和平里")
    page.click("#building-search-button")
    page.wait_for_selector(f"#building-results input[value='{city.building_a1.code}']")
    # Enter in the field: the same, never a submit.
    page.fill("#id_bq", "1号楼")
    page.press("#id_bq", "Enter")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    page.wait_for_selector(f"#building-results input[value='{city.building_a1.code}']")

    assert page.url == form_url, "the search reloaded the page"
    assert "csrfmiddlewaretoken" not in page.url and "description" not in page.url
    assert page.input_value("#id_description") == DESCRIPTION
    assert page.evaluate("() => document.getElementById('id_photos').files.length") == 1
    assert page.evaluate("() => document.getElementById('id_photos').files[0].name") == "patrol.jpg"

    page.check(f"#building-results input[value='{city.building_a1.code}']")
    page.click("button[type=submit].primary")
    page.wait_for_selector("#appeal-region")
    appeal = Appeal.objects.get(description=DESCRIPTION)
    assert appeal.source == Source.GRID_PATROL and appeal.building_id == city.building_a1.pk
    assert appeal.attachments.count() == 1
    # 主动发现 (appeals.services.intake): on the finder's own grid it starts in progress.
    assert appeal.state == AppealState.IN_PROGRESS and appeal.handling_grid_id == city.grid_a1.code
    assert page.console_errors == []
