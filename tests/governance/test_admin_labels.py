"""Issue 19 §6: the admin speaks Chinese — care tags and skills by their labels (stored as
keys), and the third-party apps' models (auth, DRF tokens, django-axes) by Chinese names."""

import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model

from governance.enums import Role
from governance.models import Post
from grids.enums import HouseholdChangeAction
from grids.models import HouseholdChange
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_care_tags_show_and_edit_by_label(city, admin_client):
    # 关怀标签 are for the grid's workers and the community's staff (issue 22, PIPL): an
    # administrator without such a post sees "—" and no field; one who holds the post sees them.
    listing = admin_client.get("/admin/grids/household/").content.decode()
    assert "独居老人" not in listing and "elderly_alone" not in listing
    form = admin_client.get(f"/admin/grids/household/{city.household_a1.pk}/change/").content.decode()
    assert 'name="care_tags"' not in form
    household = city.household_a1
    change = HouseholdChange.objects.create(household=household, action=HouseholdChangeAction.UPDATE,
                                            changes={"care_tags": ["", "elderly_alone"], "room": ["100", "101"]})
    page = admin_client.get(f"/admin/grids/householdchange/{change.pk}/change/").content.decode()
    assert "elderly_alone" not in page and "101" in page
    root = get_user_model().objects.get(username="root")
    Post.objects.create(user=root, role=Role.COMMUNITY_WORKER, community=city.comm_a)
    listing = admin_client.get("/admin/grids/household/").content.decode()
    assert "独居老人" in listing and "elderly_alone" not in listing
    assert "elderly_alone" in admin_client.get(f"/admin/grids/householdchange/{change.pk}/change/").content.decode()
    household = city.household_a1
    form = admin_client.get(f"/admin/grids/household/{household.pk}/change/").content.decode()
    assert re.search(r'<input type="checkbox" name="care_tags" value="elderly_alone"[^>]*checked', form)
    assert "独居老人" in form and "逗号分隔" not in form
    # Saving the form stores the keys, in the choices' order, as the filters and imports read them.
    data = {"building": household.building_id, "unit": "", "room": household.room, "contact_name": "王建国",
            "phone": household.phone, "care_tags": ["disability", "elderly_alone"], "status": "active",
            "moved_out_at": "", "residents-TOTAL_FORMS": "0", "residents-INITIAL_FORMS": "0",
            "residents-MIN_NUM_FORMS": "0", "residents-MAX_NUM_FORMS": "1000"}
    response = admin_client.post(f"/admin/grids/household/{household.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    household.refresh_from_db()
    assert household.care_tags == "elderly_alone,disability"


def test_third_party_models_are_named_in_chinese(admin_client):
    index = admin_client.get("/admin/").content.decode()
    for name in ("登录保护", "登录尝试", "登录日志", "登录失败记录", "认证令牌", "认证和授权", "组"):
        assert name in index, name
    for english in ("Axes", "Access attempts", "Access logs", "Access failures", "Tokens", "Groups"):
        assert f">{english}<" not in index, english
    AccessAttempt.objects.create(username="someone", ip_address="10.0.0.1", user_agent="test", http_accept="*/*",
                                 path_info="/accounts/login/", failures_since_start=2, get_data="", post_data="")
    attempts = admin_client.get("/admin/axes/accessattempt/").content.decode()
    assert "IP 地址" in attempts and "尝试时间" in attempts and "IP Address" not in attempts


def test_notification_preferences_in_the_admin(city, admin_client):
    """消息提醒设置: listed with labels and a masked mobile, filtered and searched; an edit
    goes through the preferences' service (SMS needs a mobile, as on the page)."""
    from governance.models import NotificationPreference
    from governance.staff.notifications import preference_save

    worker = city.users.grid_worker
    preference_save(user=worker, email_kinds=["dispatch"], sms_kinds=["whistle"], mobile="13912345678")
    preference_save(user=city.users.community_worker, email_kinds=["dispatch"], sms_kinds=[])
    row = NotificationPreference.objects.get(user=worker)
    index = admin_client.get("/admin/").content.decode()
    assert "消息提醒设置" in index
    listing = admin_client.get("/admin/governance/notificationpreference/").content.decode()
    assert "派单待办" in listing and "139****5678" in listing and "13912345678" not in listing
    assert "&quot;dispatch&quot;" not in listing and "['dispatch']" not in listing
    assert "短信提醒" in listing and "选择的消息类型" in listing
    with_sms = admin_client.get("/admin/governance/notificationpreference/?sms=yes").content.decode()
    assert "grid_worker" in with_sms and "community_worker" not in with_sms
    found = admin_client.get("/admin/governance/notificationpreference/?q=community_worker").content.decode()
    assert "community_worker" in found and ">grid_worker<" not in found
    url = f"/admin/governance/notificationpreference/{row.pk}/change/"
    form = admin_client.get(url).content.decode()
    assert "发短信的消息类型" in form and "吹哨报到" in form
    refused = admin_client.post(url, {"mobile": "", "email_kinds": ["dispatch"], "sms_kinds": ["whistle"]})
    assert refused.status_code == 200 and "请填写接收短信的手机号" in refused.content.decode()
    bad = admin_client.post(url, {"mobile": "12345", "sms_kinds": ["whistle"]})
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    saved = admin_client.post(url, {"mobile": "13900001111", "email_kinds": ["dispatch", "return"], "sms_kinds": []})
    assert saved.status_code == 302
    row.refresh_from_db()
    assert (row.mobile, row.email_kinds, row.sms_kinds) == ("13900001111", ["dispatch", "return"], [])
    assert admin_client.get("/admin/governance/notificationpreference/add/").status_code == 403


def test_the_outbox_admin_shows_channels_and_kinds_by_label(city, admin_client):
    from django.utils import timezone

    from governance.enums import OutboxChannel
    from governance.kernel import outbox
    from governance.models import OutboxMessage

    now = timezone.now()
    for channel, template in (("inbox", "dispatch"), ("email", "whistle"), ("sms", "received"),
                              ("digest", "escalate")):
        OutboxMessage.objects.create(channel=channel, key=f"k:{channel}", template=template, next_attempt_at=now,
                                     created_at=now)
    listing = admin_client.get("/admin/governance/outboxmessage/?delivery=all").content.decode()
    for label in ("站内消息", "邮件", "短信", "汇总提醒", "派单待办"):
        assert label in listing, label
    assert not re.search(r'<td class="field-channel">(inbox|email|sms|digest)</td>', listing)
    message = OutboxMessage.objects.get(channel="inbox")
    detail = admin_client.get(f"/admin/governance/outboxmessage/{message.pk}/change/").content.decode()
    assert "站内消息" in detail and "派单待办" in detail
    # Every channel a layer registers has a label.
    assert set(outbox._channels) <= set(OutboxChannel.values)
