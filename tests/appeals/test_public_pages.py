"""The residents' pages: submit, track, evaluate and withdraw, without an account."""

import importlib
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import clear_url_caches, reverse

from appeals import services
from appeals.enums import AppealAction, AppealState, QueueLevel
from appeals.models import Appeal
from tests.appeals.factories import grid_category, receive
from tests.factories import BuildingFactory
from tests.helpers import jpeg, track_url

A = AppealAction
S = AppealState
pytestmark = pytest.mark.django_db

SUBMIT = reverse("public:submit")
TRACK = reverse("public:track")


def form_data(city, category_, **overrides):
    category = category_
    data = {
        "street": city.street_a.code, "community": city.comm_a.code, "building": city.building_a1.code,
        "address_text": "", "category": str(category.pk), "description": "楼下垃圾堆放多日无人清理，气味很大",
        "name": "王建国", "phone": "13812345678",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def category(db):
    return grid_category(public=True)


# --- submit --------------------------------------------------------------------------------------------


def test_submit_page_is_public_with_its_own_nav_and_few_queries(client, city, category, django_assert_max_num_queries):
    # The map's extent (the grids' boundaries, else the buildings') costs two queries once,
    # then comes from the cache.
    with django_assert_max_num_queries(6):
        response = client.get(SUBMIT)
    with django_assert_max_num_queries(4):
        response = client.get(SUBMIT)
    assert response.status_code == 200
    page = text(response)
    assert "我要反映" in page and "查询进度" in page
    assert "工作台" not in page  # no staff navigation
    assert "市容环境" in page and category.name in page  # categories grouped by class
    assert "甲街道" in page and 'name="csrfmiddlewaretoken"' in page


def test_submit_with_a_building_is_dispatched_and_the_code_goes_by_sms(
    client, city, category, sms_outbox, django_capture_on_commit_callbacks
):
    photo = jpeg()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SUBMIT, {**form_data(city, category), "photos": [photo]})
    assert response.status_code == 302 and response.url == reverse("public:submit-done")
    appeal = Appeal.objects.get()
    assert appeal.state == S.DISPATCHED and appeal.handling_grid == city.grid_a1
    assert appeal.source == "web" and appeal.name == "王建国" and appeal.attachments.count() == 1
    assert len(sms_outbox) == 1 and appeal.tracking_code in sms_outbox[0].message

    done = client.get(response.url)
    assert appeal.tracking_code in text(done) and "138****5678" in text(done)
    assert track_url(appeal.tracking_code) in text(done)
    # The code is shown from this session only: another browser gets the form again.
    assert Client().get(reverse("public:submit-done")).status_code == 302
    # And this browser goes straight to the timeline.
    assert "办理过程" in text(client.get(track_url(appeal.tracking_code)))


def test_submit_with_the_address_in_words_waits_in_the_queue(client, city, category):
    response = client.post(SUBMIT, form_data(city, category, building="", address_text="和平里小区东门外"))
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.state == S.RECEIVED and appeal.queue_level == QueueLevel.COMMUNITY
    assert appeal.community == city.comm_a and appeal.address_text == "和平里小区东门外"

    client.post(SUBMIT, form_data(city, category, building="", community="", address_text="乙街道路口", phone="13900001111"))
    second = Appeal.objects.latest("id")
    assert second.state == S.RECEIVED and second.queue_level == QueueLevel.STREET and second.community is None


def test_not_sure_of_the_category_and_anonymous(client, city):
    client.post(SUBMIT, form_data(city, grid_category(), category="other", anonymous="on", name="王建国"))
    appeal = Appeal.objects.get()
    assert appeal.category is None and appeal.state == S.RECEIVED
    assert appeal.anonymous and appeal.name == ""


@pytest.mark.parametrize(
    ("overrides", "field_error"),
    [
        ({"description": ""}, "请填写问题描述"),
        ({"description": "字" * 4001}, "问题描述不能超过 4000 个字（现有 4001 个）"),
        ({"phone": "12345"}, "手机号“12345”无效"),
        ({"phone": "010-65001234"}, "不接受座机"),
        ({"phone": ""}, "请填写手机号"),
        ({"building": "", "community": "", "street": "", "address_text": "某处"}, "请选择街道"),
        ({"building": "", "address_text": ""}, "请用文字描述具体位置"),
        ({"category": ""}, "请选择问题类别"),
        ({"photos": [SimpleUploadedFile("notes.txt", b"just some text", content_type="image/jpeg")]},
         "不是有效的图片"),
        ({"photos": [jpeg(f"p{i}.jpg") for i in range(4)]}, "最多上传 3 张照片"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_keeps_what_was_typed(client, city, category, overrides, field_error):
    data = form_data(city, category, **overrides)
    response = client.post(SUBMIT, data)
    assert response.status_code == 200
    page = text(response)
    assert field_error in page
    assert "请按红色提示修改后重新提交" in page
    assert Appeal.objects.count() == 0
    # What the resident typed is still there (except the files, and the page says so).
    if data.get("description") and len(data["description"]) <= 4000:
        assert data["description"] in page
    if data.get("phone"):
        assert f'value="{data["phone"]}"' in page
    if data.get("building"):
        assert re.search(rf'value="{data["building"]}"\s+selected', page)
    assert "浏览器不会保留已选择的照片" in page


def test_the_place_must_be_consistent(client, city, category):
    response = client.post(SUBMIT, form_data(city, category, building=city.building_c1.code))
    assert "所选楼栋不在所选社区内" in text(response)
    response = client.post(SUBMIT, form_data(city, category, building="", community=city.comm_c.code, address_text="x"))
    assert "所选社区不在所选街道内" in text(response)
    assert Appeal.objects.count() == 0


def test_lookup_without_javascript_refreshes_the_lists_without_submitting(client, city, category):
    data = form_data(city, category, building="", building_q="1号楼", lookup="1")
    response = client.post(SUBMIT, data)
    page = text(response)
    assert response.status_code == 200 and "和平里1号楼" in page and "和平里2号楼" not in page
    assert "请按红色提示" not in page and Appeal.objects.count() == 0


def test_intake_is_rate_limited_per_ip(client, city, category, settings):
    settings.APPEAL_INTAKE_RATE_PER_IP = "2/hour"
    for phone in ("13800000001", "13800000002"):
        assert client.post(SUBMIT, form_data(city, category, phone=phone)).status_code == 302
    response = client.post(SUBMIT, form_data(city, category, phone="13800000003"))
    assert response.status_code == 429 and "提交过于频繁" in text(response)
    assert Appeal.objects.count() == 2
    # Another address is not affected.
    assert client.post(SUBMIT, form_data(city, category, phone="13800000004"), REMOTE_ADDR="10.1.2.3").status_code == 302


def test_intake_is_rate_limited_per_phone(client, city, category, settings):
    settings.APPEAL_INTAKE_RATE_PER_PHONE = "1/day"
    assert client.post(SUBMIT, form_data(city, category), REMOTE_ADDR="10.0.0.1").status_code == 302
    response = client.post(SUBMIT, form_data(city, category), REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 429 and "该手机号今日提交的诉求已达上限" in text(response)
    assert Appeal.objects.count() == 1


def test_bad_input_does_not_use_up_the_rate_limit(client, city, category, settings):
    settings.APPEAL_INTAKE_RATE_PER_PHONE = "1/day"
    client.post(SUBMIT, form_data(city, category, description=""))
    assert client.post(SUBMIT, form_data(city, category)).status_code == 302


def test_csrf_is_enforced(city, category):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(SUBMIT, form_data(city, category)).status_code == 403
    assert Appeal.objects.count() == 0


def test_duplicate_hint(client, city, category):
    other = receive(city, category=category, description="别人的诉求内容：3单元门口垃圾")
    url = reverse("public:submit-similar")
    hint = text(client.get(url, {"building": city.building_a1.code, "category": category.pk}))
    assert "该楼栋已有同类诉求正在办理" in hint and "已派单" in hint
    # Only a hint: nobody else's words or tracking code.
    assert other.tracking_code not in hint and "别人的诉求内容" not in hint
    assert text(client.get(url, {"building": city.building_a2.code, "category": category.pk})).strip() == ""
    # On the form itself once both are chosen (e.g. a re-render), and it does not block.
    response = client.post(SUBMIT, form_data(city, category, description=""))
    assert "该楼栋已有同类诉求正在办理" in text(response)
    assert client.post(SUBMIT, form_data(city, category)).status_code == 302


# --- places ----------------------------------------------------------------------------------------


def test_places_give_public_names_only(client, city):
    streets = client.get(reverse("public:places-streets"), {"q": "乙"})
    assert "乙街道" in text(streets) and "甲街道" not in text(streets)
    communities = client.get(reverse("public:places-communities"), {"street": city.street_a.code})
    assert "甲一社区" in text(communities) and "甲二社区" in text(communities) and "乙一社区" not in text(communities)
    buildings = client.get(reverse("public:places-buildings"), {"street": city.street_a.code, "community": city.comm_a.code})
    page = text(buildings)
    assert "和平里1号楼" in page and "和平里2号楼" in page and "安定门3号楼" not in page
    # Households live in these buildings: none of their data is ever sent.
    for private in ("王建国", "13812345678", "李秀英", "13900001111", "elderly_alone", "独居老人"):
        assert private not in page
    data = client.get(reverse("public:places-buildings"), {"street": city.street_a.code, "format": "json"}).json()
    assert {tuple(sorted(item)) for item in data["results"]} == {
        ("address", "code", "community_code", "community_name", "compound")
    }
    assert data["more"] is False
    # No street: no city-wide scan.
    assert client.get(reverse("public:places-buildings"), {"q": "和平里", "format": "json"}).json()["results"] == []


def test_places_are_limited_and_searchable(client, city):
    for n in range(25):
        BuildingFactory(grid=city.grid_a1, code=f"{city.grid_a1.code}{n + 100:04d}", address=f"幸福里{n + 1}号楼")
    url = reverse("public:places-buildings")
    data = client.get(url, {"street": city.street_a.code, "community": city.comm_a.code, "format": "json"}).json()
    assert len(data["results"]) == 20 and data["more"] is True
    assert "结果较多" in text(client.get(url, {"street": city.street_a.code, "community": city.comm_a.code}))
    found = client.get(url, {"street": city.street_a.code, "building_q": "幸福里25", "format": "json"}).json()
    assert [b["address"] for b in found["results"]] == ["幸福里25号楼"]
    # The chosen building stays in the list while the resident searches.
    kept = client.get(url, {"street": city.street_a.code, "q": "幸福里25", "building": city.building_a1.code,
                            "format": "json"}).json()
    assert [b["address"] for b in kept["results"]] == ["和平里1号楼", "幸福里25号楼"]


# --- track ----------------------------------------------------------------------------------------


@pytest.fixture
def appeal(city, category):
    return receive(city, category=category)


def test_the_sms_link_prefills_the_code_and_asks_for_the_last_four_digits(client, appeal):
    response = client.get(track_url(appeal.tracking_code))
    assert response.status_code == 200
    page = text(response)
    assert appeal.tracking_code in page and 'name="phone_last4"' in page
    assert "办理过程" not in page and appeal.description not in page
    assert appeal.tracking_code in text(client.get(TRACK, {"code": appeal.tracking_code}))
    # A code typed in lower case or with spaces is the same code.
    lower = client.get(track_url(appeal.tracking_code.lower()))
    assert lower.status_code == 302 and lower.url == track_url(appeal.tracking_code)


def test_tracking_shows_the_timeline_with_unit_names_only(client, city, appeal, django_assert_max_num_queries):
    u = city.users
    appeal = services.appeal_act(actor=u.grid_worker, appeal=appeal, action=A.SIGN, contact=True,
                                 note="已联系王建国先生，约定下午上门")
    for n in range(3):  # the page's queries do not grow with the timeline
        appeal = services.appeal_act(actor=u.grid_worker, appeal=appeal, action=A.NOTE, note=f"进展{n}")
    response = client.post(TRACK, {"tracking_code": appeal.tracking_code.lower(), "phone_last4": "5678"})
    assert response.status_code == 302 and response.url == track_url(appeal.tracking_code)
    # session, appeal, events, its photos (issue 20), handling grid and its community, the session's save
    with django_assert_max_num_queries(10):
        page = text(client.get(response.url))
    assert "办理过程" in page and "办理中" in page and "签收" in page
    assert "甲一社区第一网格" in page  # the handling unit, by name
    assert re.search(r"\d+月\d+日（周.）24:00", page)  # a working-day deadline ends at 24:00
    for private in (u.grid_worker.username, u.grid_worker.first_name, "网格员", "13812345678", "约定下午上门"):
        assert private not in page
    # Remembered for this browser and this code only.
    other = receive(city, category=grid_category(), phone="13900002222")
    assert "办理过程" not in text(client.get(track_url(other.tracking_code)))


def test_wrong_guesses_are_refused_then_throttled(client, appeal, settings):
    settings.APPEAL_TRACK_FAILURES_PER_IP = "3/hour"
    for last4 in ("0000", "1111", "2222"):
        response = client.post(TRACK, {"tracking_code": appeal.tracking_code, "phone_last4": last4})
        assert response.status_code == 200 and "查询码或手机号后四位不正确" in text(response)
    response = client.post(TRACK, {"tracking_code": appeal.tracking_code, "phone_last4": "5678"})
    assert response.status_code == 429 and "查询错误次数过多" in text(response)
    response = client.post(track_url(appeal.tracking_code), {"phone_last4": "5678"})
    assert response.status_code == 429
    assert "办理过程" not in text(client.get(track_url(appeal.tracking_code)))
    # Another address still gets in with the right digits.
    response = client.post(track_url(appeal.tracking_code), {"phone_last4": "5678"}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 302


def test_a_malformed_guess_is_not_counted(client, appeal, settings):
    settings.APPEAL_TRACK_FAILURES_PER_IP = "1/hour"
    response = client.post(track_url(appeal.tracking_code), {"phone_last4": "56"})
    assert "请填写手机号的后四位数字" in text(response)
    assert client.post(track_url(appeal.tracking_code), {"phone_last4": "5678"}).status_code == 302


def test_forget_asks_for_the_digits_again(client, appeal):
    client.post(track_url(appeal.tracking_code), {"phone_last4": "5678"})
    assert "办理过程" in text(client.get(track_url(appeal.tracking_code)))
    client.post(reverse("public:track-forget", args=[appeal.tracking_code]))
    assert "办理过程" not in text(client.get(track_url(appeal.tracking_code)))


# --- evaluate and withdraw ------------------------------------------------------------------------------


def awaiting_evaluation(city, appeal):
    appeal = services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.SIGN)
    appeal = services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.RESOLVE, result="已协调物业清运")
    assert appeal.state == S.AWAITING_EVALUATION
    return appeal


def verified(client, appeal):
    assert client.post(track_url(appeal.tracking_code), {"phone_last4": "5678"}).status_code == 302
    return client


def test_evaluation_satisfied_closes_the_appeal(client, city, appeal):
    appeal = awaiting_evaluation(city, appeal)
    verified(client, appeal)
    page = text(client.get(track_url(appeal.tracking_code)))
    assert "请对办理结果进行评价" in page and "已协调物业清运" in page and "撤回诉求" not in page
    url = reverse("public:track-evaluate", args=[appeal.tracking_code])
    response = client.post(url, {"solved": "yes", "rating": "satisfied", "comment": "很及时", "version": appeal.version},
                           follow=True)
    appeal.refresh_from_db()
    assert appeal.state == S.CLOSED and appeal.rating == "satisfied" and appeal.solved is True
    assert "感谢您的评价" in text(response) and "请对办理结果进行评价" not in text(response)


def test_evaluation_unsatisfied_sends_it_back_for_rework(client, city, appeal):
    appeal = awaiting_evaluation(city, appeal)
    verified(client, appeal)
    url = reverse("public:track-evaluate", args=[appeal.tracking_code])
    response = client.post(url, {"solved": "no", "rating": "unsatisfied", "comment": "垃圾又堆起来了",
                                 "version": appeal.version}, follow=True)
    appeal.refresh_from_db()
    assert appeal.state == S.IN_PROGRESS and appeal.rework_count == 1
    assert "已转回重新办理" in text(response)


def test_evaluation_needs_a_choice_and_a_fresh_version(client, city, appeal):
    appeal = awaiting_evaluation(city, appeal)
    verified(client, appeal)
    url = reverse("public:track-evaluate", args=[appeal.tracking_code])
    response = client.post(url, {"comment": "还行", "version": appeal.version})
    assert "请选择问题是否已解决" in text(response) and "请选择满意、基本满意或不满意" in text(response)
    assert "还行" in text(response)
    response = client.post(url, {"solved": "yes", "rating": "basically", "version": appeal.version - 1})
    assert response.status_code == 409 and "请刷新" in text(response)
    appeal.refresh_from_db()
    assert appeal.state == S.AWAITING_EVALUATION


def test_evaluation_without_the_digits_is_refused(client, city, appeal):
    appeal = awaiting_evaluation(city, appeal)
    url = reverse("public:track-evaluate", args=[appeal.tracking_code])
    response = client.post(url, {"solved": "yes", "rating": "satisfied", "version": appeal.version})
    assert response.status_code == 302 and response.url == track_url(appeal.tracking_code)
    appeal.refresh_from_db()
    assert appeal.state == S.AWAITING_EVALUATION


def test_withdraw_with_confirmation(client, appeal):
    verified(client, appeal)
    page = text(client.get(track_url(appeal.tracking_code)))
    assert "撤回诉求" in page
    url = reverse("public:track-withdraw", args=[appeal.tracking_code])
    assert "确认撤回" in text(client.get(url))
    response = client.post(url, {"reason": "已自行解决"})
    assert "请勾选确认后再撤回" in text(response)
    response = client.post(url, {"reason": "已自行解决", "confirm": "on"}, follow=True)
    appeal.refresh_from_db()
    assert appeal.state == S.WITHDRAWN
    assert "诉求已撤回" in text(response) and "撤回诉求</a>" not in text(response)


def test_withdraw_after_signing_is_refused_with_a_clear_message(client, city, appeal):
    verified(client, appeal)
    url = reverse("public:track-withdraw", args=[appeal.tracking_code])
    services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.SIGN)
    response = client.post(url, {"confirm": "on"})
    assert response.status_code == 409 and "不能进行“撤回”" in text(response) and "请刷新" in text(response)
    assert client.get(url).status_code == 409
    appeal.refresh_from_db()
    assert appeal.state == S.IN_PROGRESS


# --- the switches ------------------------------------------------------------------------------------


@pytest.fixture
def reload_urls(settings):
    import appeals.public_urls
    import governance.urls

    def _reload(**flags):
        for name, value in flags.items():
            setattr(settings, name, value)
        importlib.reload(appeals.public_urls)
        importlib.reload(governance.urls)
        clear_url_caches()

    original = {"PUBLIC_SITE_ENABLED": settings.PUBLIC_SITE_ENABLED, "STAFF_SITE_ENABLED": settings.STAFF_SITE_ENABLED}
    yield _reload
    _reload(**original)  # the URLs of the next tests


def test_public_pages_are_gone_when_the_public_site_is_off(client, city, appeal, reload_urls):
    reload_urls(PUBLIC_SITE_ENABLED=False)
    for path in ("/submit/", "/track/", f"/track/{appeal.tracking_code}/", "/places/streets/"):
        assert client.get(path).status_code == 404, path


def test_the_root_is_the_submit_page_on_a_public_only_site(client, city, reload_urls):
    reload_urls(STAFF_SITE_ENABLED=False)
    response = client.get("/")
    assert response.status_code == 302 and response.url == "/submit/"
    assert client.get("/submit/").status_code == 200
