"""智能分拨 on the residents' submit form, in Chromium (issue 26): once the description is
typed, the category list offers the model's three suggestions first; the resident
chooses one, submits, and the choice is recorded against the three shown."""

import pytest

from appeals.models import Appeal
from appeals.suggest import services as suggest_services
from appeals.suggest.models import CategorySuggestion, SuggestionPlace
from tests.browser import chromium_page
from tests.factories import make_city

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = "我们单元的楼道灯坏了一个星期了，晚上上下楼只能摸黑，老人差点摔倒"


def test_the_form_offers_the_three_suggestions_first(live_server, current_model):
    city = make_city()
    expected = suggest_services.suggest(TEXT)
    with chromium_page(viewport={"width": 390, "height": 844}, has_touch=True) as page:
        page.goto(f"{live_server.url}/submit/")
        assert page.locator("#id_category optgroup[data-suggested]").count() == 0
        page.fill("#id_description", TEXT)
        group = page.locator("#id_category optgroup[data-suggested]")
        group.wait_for(state="attached")
        names = group.locator("option").all_inner_texts()
        assert names == [c.name for c, _p in expected.top] and names[0] == "楼道照明损坏"
        # The three come first: before every class's group and the "不确定" option.
        assert page.locator("#id_category optgroup").first.get_attribute("data-suggested") is not None
        assert page.input_value("#id_suggested") == f"v1:{','.join(expected.codes)}"
        assert "推荐 3 个类别" in page.inner_text("#category-suggest-status")

        page.select_option("#id_street", city.street_a.code)
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        page.select_option("#id_community", city.comm_a.code)
        page.wait_for_function(
            "code => [...document.querySelectorAll('#id_building option')].some(o => o.value === code)",
            arg=city.building_a1.code)
        page.select_option("#id_building", city.building_a1.code)
        page.select_option("#id_category", str(expected.first.pk))
        page.fill("#id_phone", "13812345678")
        page.click("button.public-submit")
        page.wait_for_url("**/submit/done/")
        assert page.console_errors == []

    appeal = Appeal.objects.get()
    assert appeal.category == expected.first
    record = CategorySuggestion.objects.get(appeal=appeal)
    assert (record.place, record.accepted, record.rank, record.shown) == (SuggestionPlace.FORM, True, 1, expected.codes)
