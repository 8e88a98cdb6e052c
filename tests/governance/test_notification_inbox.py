"""The grouped inbox and each account's choice of copies (issue 19): an appeal's messages
collapse into one line with a count, a kind's digests too; opening the appeal or the line
reads them; email and SMS copies go or not by the account's preference, SMS through the
SMS gateway's outbox channel."""

import itertools
import re

import pytest
from django.core import mail

from appeals import sms
from governance.enums import NotificationKind as K
from governance.kernel import outbox
from governance.models import Notification, NotificationPreference, OutboxMessage
from governance.staff.notifications import (
    DEFAULT_SMS_KINDS,
    Digest,
    inbox_group_items,
    inbox_groups,
    preference_for,
    unit_messages,
    user_message,
)

pytestmark = pytest.mark.django_db

_keys = itertools.count()
GRID = ("grid", "110101001001001")


def ticked(html: str, name: str) -> bool:
    """Whether the page's checkbox ``name`` is ticked."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert tag, name
    return " checked" in tag.group(0)


def tell(kind, title, *, subject="", key=GRID, user=None, link="/appeals/"):
    digest = Digest(title=title, body=f"正文：{title}", link=link)
    if user is not None:
        messages = [user_message(kind=kind, user=user, digest=digest, subject=subject)]
    else:
        messages = unit_messages(kind=kind, subject=subject, digests={key: digest})
    outbox.write(messages, keys=[f"test:{next(_keys)}" for _ in messages])
    outbox.relay()


# --- grouping ---------------------------------------------------------------------------


def test_an_appeals_messages_and_a_kinds_digests_collapse_into_one_line_each(city, login):
    gw = city.users.grid_worker
    tell(K.DISPATCH, "新派单：诉求 A", subject="appeal:1", link="/appeals/A/")
    tell(K.SUPERVISION, "督办意见：诉求 A", subject="appeal:1", link="/appeals/A/")
    tell(K.REWORK, "返工：诉求 A", subject="appeal:1", link="/appeals/A/")
    tell(K.DISPATCH, "新派单：诉求 B", subject="appeal:2", link="/appeals/B/")
    for i in range(3):
        tell(K.WARNING, f"临期预警 {i}")
    groups = inbox_group_items(user=gw, rows=inbox_groups(user=gw))
    assert [(g.key, g.count, g.unread) for g in groups] == [
        ("kind:warning", 3, 3), ("appeal:2", 1, 1), ("appeal:1", 3, 3)]
    assert groups[2].latest.title == "返工：诉求 A"
    assert groups[2].kinds == ["返工", "督办意见", "派单待办"]

    page = login(gw).get("/notifications/")
    html = page.content.decode()
    assert page.status_code == 200 and "消息 (7)" in html
    assert html.count('class="inbox-group') == 3 + 2  # three lines, two of them unfold (<details>)
    assert "共 3 条，未读 3 条" in html and "新派单：诉求 B" in html
    # Each kind with unread messages is a filter with its count.
    assert 'href="?kind=warning"' in html
    only = login(gw).get("/notifications/", {"kind": "dispatch"}).content.decode()
    assert "新派单：诉求 A" in only and "新派单：诉求 B" in only and "临期预警 0" not in only
    one = login(gw).get("/notifications/", {"group": "appeal:1"}).content.decode()
    assert one.count('id="notification-') == 3 and "新派单：诉求 B" not in one


def test_single_messages_of_one_kind_in_a_row_collapse_into_one_line(city, login):
    gw = city.users.grid_worker
    tell(K.REWORK, "返工：诉求 Z", subject="appeal:9")
    for n in range(4):
        tell(K.DISPATCH, f"新派单：诉求 {n}", subject=f"appeal:{n}", link=f"/appeals/{n}/")
    client = login(gw)
    html = client.get("/notifications/").content.decode()
    assert html.count('<tr class="inbox-run unread"') == 1 and html.count('<tr class="inbox-group') == 1
    assert "派单待办：4 件诉求" in html and "共 4 条，未读 4 条" in html
    assert all(f"新派单：诉求 {n}" in html for n in range(4))
    # Filtered by the kind, each is its own line again.
    only = client.get("/notifications/", {"kind": "dispatch"}).content.decode()
    assert only.count('<tr class="inbox-group') == 4 and "inbox-run" not in only
    # The run's 标为已读 reads all of it, and nothing else.
    keys = [f"appeal:{n}" for n in range(4)]
    assert client.post("/notifications/group/read/", {"group": keys}).status_code == 302
    assert list(Notification.objects.filter(recipient=gw, read_at__isnull=True).values_list("title", flat=True)) == [
        "返工：诉求 Z"]
    # Two in a row stay two lines (the appeal Z's line, newer now, parts them from the run).
    tell(K.SUPERVISION, "督办意见：诉求 Z", subject="appeal:9")
    for n in (5, 6):
        tell(K.DISPATCH, f"新派单：诉求 {n}", subject=f"appeal:{n}")
    html = client.get("/notifications/").content.decode()
    assert html.count('<tr class="inbox-run') == 1 and html.count('<tr class="inbox-group') == 3
    assert "共 4 条，未读 0 条" in html and "共 2 条，未读 2 条" in html


def test_reading_a_line_reads_its_group_and_opens_the_appeal(city, login):
    gw = city.users.grid_worker
    tell(K.DISPATCH, "新派单：诉求 A", subject="appeal:1", link="/appeals/A/")
    tell(K.REWORK, "返工：诉求 A", subject="appeal:1", link="/appeals/A/")
    tell(K.DISPATCH, "新派单：诉求 B", subject="appeal:2", link="/appeals/B/")
    client = login(gw)
    opened = client.post("/notifications/group/read/", {"group": "appeal:1", "open": "1"})
    assert opened.status_code == 302 and opened["Location"] == "/appeals/A/"
    assert Notification.objects.filter(recipient=gw, read_at__isnull=True).count() == 1
    assert "消息 (1)" in client.get("/notifications/").content.decode()
    # Nobody else's group; no group named: a clear 400.
    other = login(city.users.grid_worker2)
    assert other.post("/notifications/group/read/", {"group": "appeal:2"}).status_code == 404
    assert other.post("/notifications/group/read/", {}).status_code == 400
    assert Notification.objects.filter(recipient=gw, group="appeal:2", read_at__isnull=True).exists()


def test_opening_the_appeal_page_reads_its_messages(city, login):
    from tests.appeals.factories import grid_category, receive

    appeal = receive(city, category=grid_category())
    tell(K.SUPERVISION, "督办意见", subject=f"appeal:{appeal.pk}")
    assert Notification.objects.filter(recipient=city.users.grid_worker, read_at__isnull=True).count() == 2
    page = login(city.users.grid_worker).get(f"/appeals/{appeal.tracking_code}/")
    assert page.status_code == 200 and "消息 (0)" in page.content.decode()


def test_the_inbox_costs_the_same_queries_for_many_groups(city, login, django_assert_max_num_queries):
    gw = city.users.grid_worker
    for n in range(40):
        tell(K.DISPATCH, f"新派单：诉求 {n}", subject=f"appeal:{n}")
        tell(K.REWORK, f"返工：诉求 {n}", subject=f"appeal:{n}")
    client = login(gw)
    with django_assert_max_num_queries(12):
        page = client.get("/notifications/")
    html = page.content.decode()
    assert html.count("共 2 条") == 30 and "更早的消息" in html  # 30 lines a page, then keyset
    older = client.get("/notifications/", {"before": page.context["groups"][-1].latest.pk + 1})
    assert older.status_code == 200
    nxt = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(f"/notifications/{nxt}").content.decode()
    assert rest.count("共 2 条") == 10 and "更早的消息" not in rest
    assert client.get("/notifications/", {"before": "x"}).status_code == 400


# --- copies by preference -------------------------------------------------------------------


def test_without_a_choice_email_goes_for_every_kind_and_sms_not_without_a_mobile(city):
    gw = city.users.grid_worker
    gw.email = "gw@example.com"
    gw.save()
    tell(K.DISPATCH, "新派单：诉求 A", subject="appeal:1")
    tell(K.ESCALATION, "超期升级：1 件")
    assert [m.subject for m in mail.outbox] == ["【共治】新派单：诉求 A", "【共治】超期升级：1 件"]
    assert not OutboxMessage.objects.filter(channel="sms").exists() and sms.sent == []
    assert K.ESCALATION in preference_for(user=gw).sms_kinds and K.DISPATCH not in DEFAULT_SMS_KINDS


def test_copies_follow_the_accounts_choice_per_kind(city):
    gw = city.users.grid_worker
    gw.email = "gw@example.com"
    gw.save()
    NotificationPreference.objects.create(user=gw, mobile="13911112222", email_kinds=[K.REWORK],
                                          sms_kinds=[K.DISPATCH])
    tell(K.DISPATCH, "新派单：诉求 ABCDEFGH2345", subject="appeal:1")
    tell(K.REWORK, "返工：诉求 A", subject="appeal:1")
    tell(K.WARNING, "临期预警：1 件")
    # Email: the rework only. SMS: the dispatch only, through the SMS gateway's channel.
    assert [m.subject for m in mail.outbox] == ["【共治】返工：诉求 A"]
    (text,) = sms.sent
    assert text.phone == "13911112222" and text.template == "staff_notice"
    assert text.message == "【共治】新派单：诉求 ABCDEFGH2345。请登录共治平台查看处理。"
    (row,) = OutboxMessage.objects.filter(channel="sms")
    dispatch = Notification.objects.get(recipient=gw, kind=K.DISPATCH)
    assert row.key == f"notification:{dispatch.pk}:sms" and row.status == "delivered"
    # The inbox has every message, whatever the copies.
    assert Notification.objects.filter(recipient=gw).count() == 3
    # Another account of the same unit keeps its own (default) choice.
    assert not Notification.objects.filter(recipient=city.users.grid_worker2).exists()


def test_the_preference_page_saves_the_choice_and_refuses_sms_without_a_mobile(city, login,
                                                                              django_assert_max_num_queries):
    client = login(city.users.street_officer)
    with django_assert_max_num_queries(6):
        page = client.get("/notifications/preferences/")
    html = page.content.decode()
    assert page.status_code == 200 and "消息提醒设置" in html
    # The defaults are ticked: email for every kind, SMS for the urgent ones.
    assert ticked(html, "email_dispatch") and ticked(html, "sms_escalation") and not ticked(html, "sms_dispatch")
    assert 'aria-label="派单待办 · 短信"' in html

    refused = client.post("/notifications/preferences/", {"sms_return": "on", "email_return": "on"})
    assert refused.status_code == 400 and "请填写接收短信的手机号" in refused.content.decode()
    bad = client.post("/notifications/preferences/", {"mobile": "12345", "sms_return": "on"})
    assert bad.status_code == 400 and "手机号“12345”无效" in bad.content.decode()
    assert not NotificationPreference.objects.filter(user=city.users.street_officer).exists()

    saved = client.post("/notifications/preferences/", {
        "mobile": "139 1111 3333", "email": "so@example.com", "sms_return": "on", "email_whistle": "on"})
    assert saved.status_code == 302 and saved["Location"] == "/notifications/preferences/"
    preference = preference_for(user=city.users.street_officer)
    assert (preference.mobile, preference.sms_kinds, preference.email_kinds) == (
        "13911113333", frozenset({K.RETURN}), frozenset({K.WHISTLE}))
    city.users.street_officer.refresh_from_db()
    assert city.users.street_officer.email == "so@example.com"
    # The street's returns now come by SMS to the street officer.
    tell(K.RETURN, "退单待重新派单：诉求 X", key=("street", city.street_a.code), subject="appeal:9")
    assert [m.phone for m in sms.sent] == ["13911113333"] and mail.outbox == []
    page = client.get("/notifications/preferences/").content.decode()
    assert ticked(page, "sms_return") and not ticked(page, "email_return") and "13911113333" in page


def test_the_preference_page_needs_a_login(client):
    assert client.get("/notifications/preferences/").status_code == 302
