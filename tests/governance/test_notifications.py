"""The staff inbox: the unread count in the header, mark read (one or all), nobody
else's messages, and email copies: outbox messages written beside each inbox row, sent by
the relay, a failure tried again later, each sent once."""

import itertools

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.enums import NotificationKind
from governance.kernel import outbox
from governance.models import Notification, OutboxMessage
from governance.staff.notifications import Digest, unit_messages

pytestmark = pytest.mark.django_db

_keys = itertools.count()


def tell(city, n=2, key=("grid", "110101001001001")):
    """``n`` inbox messages to a unit, written to the outbox and delivered by the relay."""
    for i in range(n):
        messages = unit_messages(kind=NotificationKind.WARNING, digests={key: Digest(
            title=f"临期预警 {i}", body="· 正文", link="/appeals/")})
        outbox.write(messages, keys=[f"test:{next(_keys)}"])
    outbox.relay()


def test_messages_go_to_every_account_of_the_unit(city):
    tell(city, n=1, key=("community", city.comm_a.code))
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["community_worker"]
    tell(city, n=1, key=("district", city.dongcheng.code))
    assert Notification.objects.filter(recipient=city.users.district_supervisor).count() == 1
    tell(city, n=1, key=("department", city.chengguan.pk))
    assert Notification.objects.filter(recipient=city.users.department_handler).count() == 1


def test_the_header_shows_the_unread_count_with_one_query(city, login):
    tell(city, n=2)
    client = login(city.users.grid_worker)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/notifications/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "消息 (2)" in html and "临期预警 0" in html and "临期预警 1" in html
    counts = [q["sql"] for q in queries if "governance_notification" in q["sql"] and "COUNT(" in q["sql"].upper()]
    assert len(counts) <= 2  # the header's count, and the paginator's
    home = login(city.users.community_worker).get("/")
    assert "消息 (0)" in home.content.decode()


def test_mark_one_read_and_all_read_and_nobody_elses(city, login):
    tell(city, n=3)
    mine = list(Notification.objects.filter(recipient=city.users.grid_worker).order_by("id"))
    client = login(city.users.grid_worker)
    assert client.post(f"/notifications/{mine[0].pk}/read/").status_code == 302
    assert "消息 (2)" in client.get("/notifications/").content.decode()
    opened = client.post(f"/notifications/{mine[1].pk}/read/", {"open": "1"})
    assert opened.status_code == 302 and opened["Location"] == "/appeals/"

    other = login(city.users.grid_worker2)
    assert other.post(f"/notifications/{mine[2].pk}/read/").status_code == 404
    assert other.get("/notifications/").content.decode().count("临期预警") == 0
    mine[2].refresh_from_db()
    assert mine[2].read_at is None

    client = login(city.users.grid_worker)
    assert client.post("/notifications/read-all/").status_code == 302
    assert "消息 (0)" in client.get("/notifications/").content.decode()
    assert client.get(f"/notifications/{mine[0].pk}/read/").status_code == 405


def test_the_inbox_needs_a_login(client):
    assert client.get("/notifications/").status_code == 302


def test_emails_are_outbox_messages_and_a_failure_is_tried_again_later(city, settings):
    user = city.users.grid_worker
    user.email = "gw@example.com"
    user.save()
    # A real SMTP server that is not there: the sending fails, the message waits.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    tell(city, n=1)
    assert Notification.objects.filter(recipient=user).count() == 1  # the inbox has it anyway
    (email,) = OutboxMessage.objects.filter(channel="email")
    assert (email.status, email.attempts, email.recipient) == ("pending", 1, "gw@example.com")
    assert "Connection refused" in email.last_error or "Errno" in email.last_error
    assert 25 <= (email.next_attempt_at - email.claimed_at).total_seconds() <= 35  # OUTBOX_RETRY_SECONDS

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    tell(city, n=1)  # the new one goes now; the failed one waits for its backoff
    assert [m.to for m in mail.outbox] == [["gw@example.com"]]
    OutboxMessage.objects.filter(pk=email.pk).update(next_attempt_at=email.created_at)  # its time has come
    assert outbox.relay().delivered == 1
    assert [m.to for m in mail.outbox] == [["gw@example.com"], ["gw@example.com"]]
    assert "临期预警" in mail.outbox[0].subject and "/appeals/" in mail.outbox[0].body
    assert mail.outbox[0].extra_headers["Message-ID"] != mail.outbox[1].extra_headers["Message-ID"]
    assert outbox.relay().delivered == 0  # each is sent once


def _unread_counts(queries) -> int:
    return sum(1 for q in queries if "governance_notification" in q["sql"] and "COUNT(" in q["sql"].upper())


def test_the_unread_count_costs_one_query_per_page_and_none_without_the_header(city, login):
    from django.template import Context, Template
    from django.test import RequestFactory

    from governance.context_processors import portal

    tell(city, n=3)
    client = login(city.users.grid_worker)
    for path in ("/", "/appeals/", "/appeals/?scope=1"):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(path)
        assert page.status_code == 200 and "消息 (3)" in page.content.decode(), path
        assert _unread_counts(queries) == 1, path
    # Asked several times in one request (several templates): still one query.
    request = RequestFactory().get("/")
    request.user = city.users.grid_worker
    context = portal(request)
    with CaptureQueriesContext(connection) as queries:
        shown = Template("{{ n }} {{ n }} {{ n }}").render(Context({"n": context["UNREAD_NOTIFICATIONS"]}))
    assert shown == "3 3 3" and _unread_counts(queries) == 1
    # An htmx fragment (no header) asks nothing.
    with CaptureQueriesContext(connection) as queries:
        client.get("/appeals/buildings/", {"bq": "和平里"})
    assert _unread_counts(queries) == 0
