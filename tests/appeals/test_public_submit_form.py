"""The submit form's server side of issue 20's fixes: the limits the browser checks come from
the server's one definition, line breaks count as the page counts them, a re-shown form says
how many photos to choose again and marks its errors for the page's script; 长者模式 is
applied from <head>. (Their behaviour in a browser: tests/appeals/test_browser_submit_form.py.)"""

import re

import pytest
from django.urls import reverse

from appeals.images import MEDIA_TYPES
from appeals.models import DESCRIPTION_MAX, Appeal
from appeals.public_forms import AppealSubmitForm
from tests.appeals.factories import grid_category
from tests.helpers import jpeg, png

pytestmark = pytest.mark.django_db

SUBMIT = reverse("public:submit")


def form_data(city, category, **overrides):
    data = {
        "street": city.street_a.code, "community": city.comm_a.code, "building": city.building_a1.code,
        "category": str(category.pk), "description": "楼下垃圾堆放多日无人清理", "phone": "13812345678",
    }
    data.update(overrides)
    return data


def test_the_browser_checks_use_the_servers_limits(client, city, settings):
    settings.APPEAL_PHOTO_MAX_BYTES = 3 * 1024 * 1024
    settings.APPEAL_PHOTO_MAX_COUNT = 2
    page = client.get(SUBMIT).content.decode()
    photos = re.search(r'<input type="file"[^>]*>', page).group(0)
    assert f'data-max-bytes="{3 * 1024 * 1024}"' in photos and 'data-max-count="2"' in photos
    assert f'data-types="{",".join(MEDIA_TYPES.values())}"' in photos
    assert f'accept="{",".join(MEDIA_TYPES.values())}"' in photos
    assert "超过 3 MB" in photos and "不是 JPEG 或 PNG 照片" in photos
    counter = re.search(r'<p class="hint public-counter"[^>]*>', page).group(0)
    assert f'data-max="{DESCRIPTION_MAX}"' in counter and f'data-warn-at="{int(DESCRIPTION_MAX * 0.9)}"' in counter


def test_a_line_break_counts_once_as_on_the_page(city):
    category = grid_category()
    # 40 lines of 100 characters, the line break included: 3,999 once the last one is trimmed;
    # as the browser sends them (CRLF), 4,038.
    description = ("字" * 99 + "\r\n") * 40
    form = AppealSubmitForm(form_data(city, category, description=description))
    assert form.is_valid(), form.errors
    assert "\r" not in form.cleaned_data["description"] and len(form.cleaned_data["description"]) == 3999
    too_long = AppealSubmitForm(form_data(city, category, description="字" * (DESCRIPTION_MAX + 1)))
    assert not too_long.is_valid() and "不能超过 4000 个字" in str(too_long.errors["description"])


def test_a_refused_form_says_how_many_photos_to_choose_again_and_marks_its_errors(client, city):
    category = grid_category()
    data = form_data(city, category, phone="010-12345678", building="", community="", street="")
    response = client.post(SUBMIT, {**data, "photos": [png("a.png"), jpeg("b.jpg")]})
    page = response.content.decode()
    assert response.status_code == 200 and Appeal.objects.count() == 0
    assert "data-has-errors" in page
    assert "您选择的 2 张照片需要重新选择" in page  # in the summary at the top
    assert re.search(r'id="photo-notice">\s*您选择的 2 张照片没有随表单保留', page)
    assert 'id="id_street-errors" data-for="id_street"' in page and 'id="id_phone-errors" data-for="id_phone"' in page
    assert re.search(r'<select name="street" id="id_street" aria-invalid="true"', page)

    # Without photos chosen, the general notice; without errors, no marks at all.
    page = client.post(SUBMIT, data).content.decode()
    assert "张照片需要重新选择" not in page and "浏览器不会保留已选择的照片；如需上传，请重新选择" in page
    page = client.get(SUBMIT).content.decode()
    assert "data-has-errors" not in page and 'id="photo-notice"' not in page


def test_large_text_mode_is_applied_from_head_on_every_public_page(client, city):
    for url in (SUBMIT, reverse("public:track")):
        page = client.get(url).content.decode()
        head = page.split("</head>")[0]
        # A plain script (neither deferred nor async) before the public stylesheet: applied before the first paint.
        assert re.search(r'<script src="[^"]*js/prefs\.js"></script>\s*<link rel="stylesheet" href="[^"]*css/public\.css"', head)
        assert re.search(r'<button type="button" id="large-text-toggle"[^>]*aria-pressed="false" hidden>长者模式</button>', page)
