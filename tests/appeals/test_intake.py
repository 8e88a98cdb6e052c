"""Intake: validation, the place, photos, and the resident's SMS after commit."""

import logging

import pytest

from appeals import services, sms
from appeals.enums import Source
from appeals.models import TRACKING_ALPHABET, Appeal, AppealAttachment
from appeals.selectors import appeal_possible_duplicates
from governance.celery import app as celery_app
from governance.kernel.errors import ActionForbidden, ApplicationError
from governance.models import OutboxMessage
from tests.appeals.factories import CategoryFactory, grid_category, receive
from tests.helpers import jpeg

pytestmark = pytest.mark.django_db


def test_tracking_code_is_readable_and_unique(city):
    codes = {receive(city, category=grid_category()).tracking_code for _ in range(5)}
    assert len(codes) == 5
    for code in codes:
        assert len(code) == 12 and set(code) <= set(TRACKING_ALPHABET)
        assert not set(code) & set("0O1IL")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"description": "x" * 4001}, "不能超过 4000 个字"),
        ({"description": "   "}, "请填写诉求内容"),
        ({"phone": "010-65001234"}, "11位中国大陆手机号"),
        ({"phone": ""}, "请填写手机号"),
        ({"phone": "12345"}, "手机号“12345”无效"),
    ],
)
def test_public_intake_refuses_bad_input(city, kwargs, message):
    with pytest.raises(ApplicationError, match=message):
        receive(city, category=grid_category(), **kwargs)
    assert Appeal.objects.count() == 0


def test_the_place_must_be_known_and_consistent(city):
    with pytest.raises(ApplicationError, match="请选择诉求所在的街道"):
        services.appeal_receive(source=Source.WEB, description="路灯坏了", phone="13812345678", address_text="某处")
    with pytest.raises(ApplicationError, match="文字填写具体地址"):
        receive(city, building=None, community=city.comm_a)
    with pytest.raises(ApplicationError, match="楼栋不在所选网格"):
        receive(city, building=city.building_a1, grid=city.grid_a2)
    with pytest.raises(ApplicationError, match="社区不在所选街道"):
        receive(city, building=None, community=city.comm_c, street=city.street_a, address_text="x")


def test_place_is_denormalised_from_the_building(city):
    appeal = receive(city, category=grid_category(), building=city.building_b1)
    assert (appeal.district_id, appeal.street_id, appeal.community_id, appeal.grid_id) == (
        "110101", "110101001", "110101001002", "110101001002001")
    assert appeal.territory_code == city.building_b1.code and appeal.address_text == "安定门3号楼"


def test_staff_intake_accepts_landlines_and_needs_staff(city):
    appeal = receive(city, category=grid_category(), source=Source.WALK_IN, phone="01065001234",
                     actor=city.users.community_worker)
    assert appeal.phone == "010-65001234" and appeal.source == Source.WALK_IN
    with pytest.raises(ActionForbidden):
        receive(city, source=Source.PHONE, actor=None)
    with pytest.raises(ActionForbidden):
        receive(city, source=Source.PHONE, actor=city.users.supervisor)
    with pytest.raises(ApplicationError, match="未知的诉求来源"):
        receive(city, source="fax")


@pytest.mark.parametrize("source", [Source.WEB, Source.API])
def test_web_and_api_intake_still_need_a_mobile(city, source):
    for phone, message in (("", "请填写手机号"), ("010-65001234", "11位中国大陆手机号")):
        with pytest.raises(ApplicationError, match=message):
            receive(city, category=grid_category(), source=source, phone=phone)
    assert Appeal.objects.count() == 0


def test_open311_phone_is_optional_and_may_be_a_landline(
    city, django_capture_on_commit_callbacks, _sms_outbox_and_eager_tasks,
):
    outbox = _sms_outbox_and_eager_tasks
    with django_capture_on_commit_callbacks(execute=True):
        without = receive(city, category=grid_category(), source=Source.OPEN311, phone="")
        landline = receive(city, category=grid_category(), source=Source.OPEN311, phone="01065001234")
    assert without.phone == "" and without.state == "dispatched"
    assert landline.phone == "010-65001234" and landline.state == "dispatched"
    assert outbox == []  # SMS goes only to a mobile
    with django_capture_on_commit_callbacks(execute=True):
        mobile = receive(city, category=grid_category(), source=Source.OPEN311, phone="13812345678")
    assert len(outbox) == 1 and mobile.tracking_code in outbox[0].message
    # Given, it must still be a phone number.
    with pytest.raises(ApplicationError, match="电话号码“12345”无效"):
        receive(city, category=grid_category(), source=Source.OPEN311, phone="12345")


def test_anonymous_drops_the_name_and_inactive_categories_are_refused(city):
    appeal = receive(city, category=grid_category(), anonymous=True, name="王建国")
    assert appeal.name == "" and appeal.display_name == "匿名"
    with pytest.raises(ApplicationError, match="已停用"):
        receive(city, category=CategoryFactory(code="08001", active=False))


def test_photos_are_cleaned_and_limited(city):
    appeal = receive(city, category=grid_category(), photos=[jpeg(), jpeg()])
    attachments = list(AppealAttachment.objects.filter(appeal=appeal))
    assert len(attachments) == 2 and all(a.kind == "intake" for a in attachments)
    assert attachments[0].image.name.startswith("appeals/") and attachments[0].event.action == "receive"
    with pytest.raises(ApplicationError, match="最多上传 3 张"):
        receive(city, category=grid_category(), photos=[jpeg() for _ in range(4)])


def test_tracking_code_sms_is_sent_after_commit_only(city, django_capture_on_commit_callbacks,
                                                     _sms_outbox_and_eager_tasks):
    outbox = _sms_outbox_and_eager_tasks
    category = grid_category()  # (saving a category queues the reference-data cache's own callback)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        appeal = receive(city, category=category)
    assert outbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert len(outbox) == 1 and appeal.tracking_code in outbox[0].message


def test_no_sms_for_a_landline(city, django_capture_on_commit_callbacks, _sms_outbox_and_eager_tasks):
    with django_capture_on_commit_callbacks(execute=True):
        receive(city, category=grid_category(), source=Source.PHONE, phone="010-65001234",
                actor=city.users.community_worker)
    assert _sms_outbox_and_eager_tasks == []


def test_console_backend_renders_the_template_and_masks_the_number_the_code_and_the_link(caplog):
    params = {"code": "ABCDEFGH2345", "url": "http://x/track/ABCDEFGH2345/k/zM7jzu3hen0bJzxk1ZOSQ/"}
    with caplog.at_level(logging.INFO, logger="appeals.sms"):
        sms.ConsoleSmsBackend().send(phone="13812345678", template="received", params=params, key="event:1:0")
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text
    assert "您的诉求已受理，查询码 AB********45" in caplog.text and "/track/***/k/***/" in caplog.text
    assert "ABCDEFGH2345" not in caplog.text and "zM7jzu3hen0bJzxk1ZOSQ" not in caplog.text


def _reconnect():
    # Celery caches its connection and producer pools per app; drop them so the new broker
    # URL is used. (Not app.close(): it also deregisters the app, and tasks imported
    # afterwards would then never be registered.)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_broker_down_still_saves_the_appeal(city, django_capture_on_commit_callbacks, caplog):
    url = celery_app.conf.broker_url
    options = celery_app.conf.broker_transport_options
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    celery_app.conf.broker_transport_options = {"socket_connect_timeout": 0.2}
    _reconnect()
    try:
        with caplog.at_level(logging.WARNING, logger="governance.kernel.outbox"):
            with django_capture_on_commit_callbacks(execute=True):
                appeal = receive(city, category=grid_category())
    finally:
        celery_app.conf.broker_url = url
        celery_app.conf.broker_transport_options = options
        _reconnect()
    assert Appeal.objects.filter(pk=appeal.pk).exists()
    assert "could not queue the relay" in caplog.text
    # The SMS waits in the outbox, saved with the appeal, for the beat's relay.
    (waiting,) = OutboxMessage.objects.filter(channel="sms", subject=f"appeal:{appeal.pk}")
    assert waiting.status == "pending" and waiting.recipient == appeal.phone and waiting.template == "received"


def test_possible_duplicates_hint(city):
    category = grid_category()
    first = receive(city, category=category)
    assert appeal_possible_duplicates(building=city.building_a1, category=category) == [first]
    assert appeal_possible_duplicates(building=city.building_a2, category=category) == []
