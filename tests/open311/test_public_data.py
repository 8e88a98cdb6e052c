"""The public-data policy (appeals.public_policy, DESIGN.md §8): which appeals the public
sees, what of them, the 公开摘要 staff write or approve, the automatic redaction behind it,
public photos only, and the per-address limit on public reads."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from appeals import services, workflow
from appeals.enums import AppealAction, AppealState, Source
from appeals.models import Appeal, AppealAttachment, AppealEvent
from appeals.public_policy import redact
from governance.kernel.errors import ActionForbidden, Conflict, NotFound
from tests.appeals.factories import CategoryFactory, grid_category, receive
from tests.open311.conftest import BASE, json_body

A = AppealAction
pytestmark = pytest.mark.django_db


def jpeg(name="p.jpg"):
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buf, "JPEG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


# --- the automatic redaction: the second line behind the 公开摘要 ------------------------------------

REDACTIONS = [
    # What redaction missed on main (the list).
    ("电话138.1234.5678", "电话***"),
    ("一三八一二三四五六七八", "***"),
    ("邮箱 zhang.san(at)example.com", "邮箱 ***"),
    ("住3-2-502", "住***"),
    ("502房间漏水", "***漏水"),
    ("五楼502门口", "***门口"),
    ("加wxid_abc123456", "加***"),
    ("微信 zhangsan_1990", "微信 ***"),
    ("车牌京A12345占道", "车牌***占道"),
    # Phones and landlines, with every separator people type.
    ("13812345678", "***"),
    ("138-1234-5678", "***"),
    ("138 1234 5678", "***"),
    ("+86 138 1234 5678", "***"),
    ("座机010-65123456", "座机***"),
    ("（010）6512 3456", "（***"),
    ("１３８１２３４５６７８", "***"),
    ("幺三八幺二三四五六七八", "***"),
    ("一三八 一二三四 五六七八", "***"),
    # ID and card numbers.
    ("身份证110101199001011234", "身份证***"),
    ("身份证号11010119900101123X", "身份证号***"),
    ("110101 19900101 123x", "***"),
    ("卡号6222 0212 3456 7890 123", "卡号***"),
    # E-mail, also spelt out.
    ("wangjg@example.com", "***"),
    ("zhang.san[at]example.com", "***"),
    ("zhang.san at example dot com", "***"),
    ("zhangsan＠qq.com", "***"),
    ("zs（at）163。com", "***"),
    # WeChat and QQ: the label stays, the id goes.
    ("微信号：zhangsan_1990", "微信号：***"),
    ("加我vx：abc12345", "加我vx：***"),
    ("V信 wx_abc123", "V信 ***"),
    ("QQ 12345678", "QQ ***"),
    ("qq号：123456", "qq号：***"),
    ("扣扣：1234567", "扣扣：***"),
    # Plates.
    ("京A·12345", "***"),
    ("粤BD12345", "***"),
    ("沪C 1234学", "***"),
    # Rooms.
    ("3单元502室", "***"),
    ("2号楼3单元501门口", "***门口"),
    ("5层502室", "***"),
    ("1201户", "***"),
    ("302号房", "***"),
    ("十楼1001", "***"),
    ("12-1-1201", "***"),
    # Everything at once, with the reporter's own name (names are not found by pattern).
    ("王建国（13812345678）住3单元502室，微信wxid_abc123", "***（***）住***，微信***"),
    # Kept: dates, buildings, counts, and words that start with a surname.
    ("2024-05-01发现", "2024-05-01发现"),
    ("2024.05.01", "2024.05.01"),
    ("3号楼东侧有积水", "3号楼东侧有积水"),
    ("马路上的垃圾", "马路上的垃圾"),
    ("高楼层住户反映", "高楼层住户反映"),
    ("王府井大街", "王府井大街"),
    ("共12户受影响", "共12户受影响"),
    ("共120户受影响", "共120户受影响"),
    ("路灯不亮已7天", "路灯不亮已7天"),
    ("电梯故障3次", "电梯故障3次"),
    ("新apple店门口", "新apple店门口"),
    ("气温-5度", "气温-5度"),
]


@pytest.mark.parametrize(("text", "published"), REDACTIONS, ids=[t for t, _p in REDACTIONS])
def test_redaction(text, published):
    assert redact(text, names=("王建国",)) == published


def test_the_table_has_at_least_40_cases_that_mask_something():
    assert len([1 for text, published in REDACTIONS if text != published]) >= 40


# --- which appeals, and the 公开摘要 ------------------------------------------------------------------


@pytest.fixture
def categories():
    """暴露垃圾 is public; 家庭矛盾 (about people) is not — the default."""
    return grid_category(public=True), CategoryFactory(code="05004", class_name="邻里纠纷", name="家庭矛盾")


def _open311_get(client, appeal):
    return client.get(f"{BASE}/requests/{appeal.pk}.json")


def test_open311_request_in_a_public_category_is_public_with_its_summary_once_approved(
    client, o311, post_request, categories
):
    """Done when: an Open311 appeal posted in a public category is returned by its id,
    with its 公开摘要 once approved; one in a category about people is not returned."""
    garbage, family = categories
    public_id = post_request(description="我是王建国，3单元门口垃圾三天没人清运，电话13812345678").json()[0]["service_request_id"]
    private_id = post_request(service_code=family.code, phone="13900002222",
                              description="楼里独居的刘奶奶腿脚不便，儿子常年不来，家里吵得厉害").json()[0]["service_request_id"]

    [row] = json_body(client.get(f"{BASE}/requests.json", {"service_request_id": f"{public_id},{private_id}"}))
    assert row["service_request_id"] == public_id
    assert row["description"] == ""  # empty until staff write or approve a summary
    assert client.get(f"{BASE}/requests/{private_id}.json").status_code == 404
    assert [r["service_request_id"] for r in client.get(f"{BASE}/requests.json").json()] == [public_id]

    # The grid worker approves a summary on the appeal's page (the form offers the redacted text).
    appeal = Appeal.objects.get(pk=int(public_id))
    client.force_login(o311.city.users.grid_worker)
    page = client.get(reverse("appeals:detail", args=[appeal.tracking_code])).content.decode()
    assert "公开摘要" in page and "我是***，***门口垃圾三天没人清运，电话***" in page
    answer = client.post(reverse("appeals:action", args=[appeal.tracking_code, A.PUBLISH]), {
        "expected_version": appeal.version, "summary": "单元门口垃圾三天未清运。",
    })
    assert answer.status_code == 302
    client.logout()
    row = _open311_get(client, appeal).json()[0]
    assert row["description"] == "单元门口垃圾三天未清运。"
    event = AppealEvent.objects.get(appeal=appeal, action=A.PUBLISH)
    assert (event.note, event.actor) == ("单元门口垃圾三天未清运。", o311.city.users.grid_worker)
    appeal.refresh_from_db()
    assert appeal.version == 2  # the handler's open form does not go stale

    # Withdrawn: the description is empty again.
    services.appeal_act(actor=o311.city.users.community_worker, appeal=appeal, action=A.PUBLISH, summary="")
    assert _open311_get(client, appeal).json()[0]["description"] == ""


def test_staff_intake_is_public_only_with_the_residents_consent(client, city, categories, login):
    garbage, _family = categories
    worker = login(city.users.community_worker)
    page = worker.get(reverse("appeals:intake")).content.decode()
    assert 'name="public_consent"' in page and "居民同意公开" in page
    data = {"source": Source.PHONE, "phone": "13812345678", "name": "王建国", "building": city.building_a1.code,
            "category": garbage.pk, "description": "门口垃圾没人清运"}
    worker.post(reverse("appeals:intake"), data)
    worker.post(reverse("appeals:intake"), {**data, "public_consent": "on", "phone": "13900002222"})
    without, with_consent = Appeal.objects.order_by("pk")
    assert (without.public_consent, with_consent.public_consent) == (False, True)
    client.logout()
    assert _open311_get(client, without).status_code == 404
    assert _open311_get(client, with_consent).status_code == 200
    # And a summary can be written only for the one the resident agreed to publish.
    with pytest.raises(Conflict, match="须经居民同意"):
        services.appeal_act(actor=city.users.community_worker, appeal=without, action=A.PUBLISH, summary="垃圾")


def test_who_may_write_the_summary(city, categories):
    garbage, family = categories
    appeal = receive(city, category=garbage)
    u = city.users
    assert workflow.allowed(user=u.grid_worker, appeal=appeal, action=A.PUBLISH)
    assert workflow.allowed(user=u.community_worker, appeal=appeal, action=A.PUBLISH)
    assert workflow.allowed(user=u.street_officer, appeal=appeal, action=A.PUBLISH)
    with pytest.raises(NotFound):
        workflow.permit(user=u.outsider, appeal=appeal, action=A.PUBLISH)
    with pytest.raises(ActionForbidden, match="只读"):
        workflow.permit(user=u.supervisor, appeal=appeal, action=A.PUBLISH)
    with pytest.raises(Conflict, match="类别不公开"):
        workflow.permit(user=u.grid_worker, appeal=receive(city, category=family, phone="13900002222"),
                        action=A.PUBLISH)
    declined = receive(city, building=None, community=city.comm_a, address_text="和平里东街", phone="13900003333",
                       category=garbage)
    Appeal.objects.filter(pk=declined.pk).update(state=AppealState.DECLINED)
    declined.refresh_from_db()
    with pytest.raises(Conflict):
        workflow.permit(user=u.community_worker, appeal=declined, action=A.PUBLISH)


def test_the_api_publishes_too(city, categories):
    garbage, _family = categories
    appeal = receive(city, category=garbage, photos=[jpeg(), jpeg()])
    api = APIClient()
    api.force_authenticate(city.users.grid_worker)
    first, second = AppealAttachment.objects.filter(appeal=appeal).order_by("pk")
    answer = api.post(f"/api/v1/appeals/{appeal.tracking_code}/publish/",
                      {"summary": "单元门口有垃圾。", "photos": [second.pk]}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["public_summary"] == "单元门口有垃圾。"
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.public, second.public) == (False, True)
    foreign = receive(city, category=garbage, building=city.building_a2, phone="13900002222", photos=[jpeg()])
    wrong = api.post(f"/api/v1/appeals/{appeal.tracking_code}/publish/",
                     {"summary": "x", "photos": [foreign.attachments.get().pk]}, format="json")
    assert wrong.status_code == 400 and "不属于该诉求" in wrong.json()["detail"]


def test_media_url_only_for_photos_marked_public(client, city, categories):
    garbage, _family = categories
    appeal = receive(city, category=garbage, photos=[jpeg(), jpeg()])
    first, second = AppealAttachment.objects.filter(appeal=appeal).order_by("pk")
    assert _open311_get(client, appeal).json()[0]["media_url"] is None
    assert client.get(f"{BASE}/media/{first.pk}").status_code == 404
    services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.PUBLISH, summary="门口垃圾",
                        photos=[first.pk])
    media_url = _open311_get(client, appeal).json()[0]["media_url"]
    assert media_url == f"http://testserver{BASE}/media/{first.pk}"
    photo = client.get(media_url)
    assert photo.status_code == 200 and b"".join(photo.streaming_content).startswith(b"\xff\xd8")
    assert client.get(f"{BASE}/media/{second.pk}").status_code == 404  # not marked
    # A photo marked public of an appeal that is no longer public (withdrawn): not served.
    Appeal.objects.filter(pk=appeal.pk).update(state=AppealState.WITHDRAWN)
    assert client.get(media_url).status_code == 404


def test_the_duplicate_hint_counts_only_public_appeals(client, city, categories):
    garbage, family = categories
    receive(city, category=family, description="家里吵架")
    url = reverse("public:submit-similar")
    assert client.get(url, {"building": city.building_a1.code, "category": family.pk}).content.decode().strip() == ""
    receive(city, category=garbage, phone="13900002222")
    assert "该楼栋已有同类诉求正在办理" in client.get(url, {"building": city.building_a1.code,
                                                              "category": garbage.pk}).content.decode()


def test_services_say_which_categories_are_not_public(client, o311):
    services_list = {s["service_code"]: s for s in client.get(f"{BASE}/services.json").json()}
    assert "不公开" in services_list[o311.noise.code]["description"]
    assert "不公开" not in services_list[o311.garbage.code]["description"]


def test_demo_flags_matters_of_people_as_not_public():
    from appeals.demo import CATEGORIES, PUBLIC_CATEGORIES, categories_load
    from appeals.models import Category

    categories_load()
    names = dict(Category.objects.filter(public=False).values_list("code", "name"))
    for name in ("家庭矛盾", "独居老人探访", "低保救助咨询", "邻里矛盾调解", "噪音扰民"):
        assert name in names.values(), name
    assert set(Category.objects.filter(public=True).values_list("code", flat=True)) == PUBLIC_CATEGORIES
    assert len(CATEGORIES) > len(PUBLIC_CATEGORIES)


# --- public reads: limited per address, in this process ---------------------------------------------


def test_public_reads_are_limited_per_address_without_the_cache_or_the_database(
    client, o311, settings, django_assert_max_num_queries, monkeypatch
):
    settings.PUBLIC_READ_RATE_PER_IP = "3/minute"
    # The count is kept in this process: the shared cache is never asked.
    from django.core.cache import cache

    monkeypatch.setattr(cache, "incr", lambda *a, **k: pytest.fail("public reads must not count in the cache"))
    monkeypatch.setattr(cache, "add", lambda *a, **k: pytest.fail("public reads must not count in the cache"))
    for _i in range(3):
        assert client.get(f"{BASE}/requests.json").status_code == 200
    refused = client.get(f"{BASE}/requests.xml")
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert b"<errors>" in refused.content
    assert client.get(reverse("public:places-streets")).status_code == 429  # the same budget
    # Another address has its own.
    assert client.get(f"{BASE}/requests.json", REMOTE_ADDR="10.0.0.9").status_code == 200
    # A read writes nothing to the database.
    settings.PUBLIC_READ_RATE_PER_IP = "1000/minute"
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(f"{BASE}/requests.json", REMOTE_ADDR="10.0.0.10")
        client.get(f"{BASE}/requests/1.json", REMOTE_ADDR="10.0.0.10")
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries.captured_queries)
