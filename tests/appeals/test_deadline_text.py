"""One deadline text (issue 13): "12月15日（周二）24:00" for a working-day deadline, the
exact time for an hour-based one, the same on the resident's page, the staff pages, the
volunteers' hall, the API and the extension SMS."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from appeals import extensions, sms
from appeals.deadlines import deadline_text
from appeals.enums import DeadlineUnit
from appeals.tasks import SMS_EXTENDED
from governance.kernel.clock import CHINA
from tests.appeals.factories import component_department_category, grid_category, receive

pytestmark = pytest.mark.django_db

# Dispatched on Friday 4 December 2026 with 7 working days: 7, 8, 9, 10, 11, 14 and 15
# December, so the deadline ends at 24:00 on Tuesday 15 December (stored as 16 Dec 00:00).
DISPATCHED = datetime(2026, 12, 4, 10, 0, tzinfo=CHINA)
TEXT = "12月15日（周二）24:00"


def cst(y, m, d, h=0, minute=0):
    return datetime(y, m, d, h, minute, tzinfo=CHINA)


def test_a_working_day_deadline_reads_24_00_of_its_last_day():
    assert deadline_text(cst(2026, 12, 16)) == TEXT
    assert deadline_text(cst(2026, 12, 16), DeadlineUnit.WORKING_DAYS) == TEXT
    # The same instant in UTC (16:00 on the 15th) reads the same.
    assert deadline_text(cst(2026, 12, 16).astimezone(dt_timezone.utc)) == TEXT
    assert deadline_text(cst(2027, 1, 8)) == "1月7日（周四）24:00"
    assert deadline_text(cst(2027, 1, 8), with_year=True) == "2027年1月7日（周四）24:00"
    assert deadline_text(None) == ""


def test_an_hour_based_deadline_reads_its_exact_time():
    assert deadline_text(cst(2026, 12, 15, 14, 30), DeadlineUnit.HOURS) == "12月15日（周二）14:30"
    # Two hours from 22:00 end at midnight: on the clock, that is the next day's 00:00.
    assert deadline_text(cst(2026, 12, 16), DeadlineUnit.HOURS) == "12月16日（周三）00:00"
    # An instant that is not a day's end needs no unit.
    assert deadline_text(cst(2026, 12, 15, 14, 30)) == "12月15日（周二）14:30"


@pytest.fixture
def appeal(city):
    appeal = receive(city, category=grid_category(), now=DISPATCHED)
    assert appeal.deadline == cst(2026, 12, 16)
    return appeal


def test_the_resident_staff_and_volunteer_pages_show_the_one_text(city, appeal, client):
    # The resident's tracking page.
    client.post(reverse("public:track"), {"tracking_code": appeal.tracking_code, "phone_last4": "5678"})
    page = client.get(reverse("public:track-detail", args=[appeal.tracking_code])).content.decode()
    assert f"<dd>{TEXT}</dd>" in page and "12-16 00:00" not in page

    # The staff: the appeal's page and the queue.
    client.force_login(city.users.grid_worker)
    page = client.get(reverse("appeals:detail", args=[appeal.tracking_code])).content.decode()
    assert TEXT in page and "2026-12-16 00:00" not in page
    assert TEXT in client.get(reverse("appeals:queue")).content.decode()

    # The volunteers' order hall and the appeal's card there.
    from volunteers.services import volunteer_register

    appeal.category.volunteer_suitable = True
    appeal.category.save(update_fields=["volunteer_suitable"])
    volunteer_register(community=city.comm_a, user=city.users.volunteer)
    client.force_login(city.users.volunteer)
    assert TEXT in client.get(reverse("volunteers:hall")).content.decode()
    assert TEXT in client.get(reverse("volunteers:hall-detail", args=[appeal.tracking_code])).content.decode()


def test_the_extension_decision_and_the_sms_read_the_same(city, appeal, client, sms_outbox,
                                                          django_capture_on_commit_callbacks):
    u = city.users
    asked_at = cst(2026, 12, 7, 9)
    extension = extensions.extension_request(
        actor=u.grid_worker, appeal=appeal, requested_deadline=cst(2026, 12, 18), reason="需协调物业", now=asked_at,
    )
    client.force_login(u.community_worker)
    page = client.get(reverse("appeals:detail", args=[appeal.tracking_code])).content.decode()
    assert f"<dd>{TEXT}</dd>" in page  # 现办结时限
    assert "<dd>12月17日（周四）24:00</dd>" in page  # 申请延至

    sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        extensions.extension_approve(actor=u.community_worker, extension=extension, note="同意", now=asked_at)
    (message,) = [m.message for m in sms_outbox if m.template == SMS_EXTENDED]
    assert "办结时限延至 12月17日（周四）24:00。" in message and "00:00" not in message
    appeal.refresh_from_db()
    assert sms.render(SMS_EXTENDED, sms.params_for(appeal, SMS_EXTENDED)) == message


def test_the_api_gives_the_text_beside_the_instant(city, appeal):
    staff = APIClient()
    staff.force_authenticate(city.users.grid_worker)
    body = staff.get(f"/api/v1/appeals/{appeal.tracking_code}/").json()
    assert body["deadline_text"] == TEXT
    assert datetime.fromisoformat(body["deadline"]) == cst(2026, 12, 16)
    listed = staff.get("/api/v1/appeals/").json()["results"]
    assert [row["deadline_text"] for row in listed] == [TEXT]
    track = APIClient().post(f"/api/v1/track/{appeal.tracking_code}/", {"phone_last4": "5678"}, format="json").json()
    assert track["deadline_text"] == TEXT


def test_an_hour_based_appeal_shows_its_exact_time_on_the_api_and_the_page(city, client):
    # 井盖缺失: 2 hours, dispatched automatically to 城管 at 12:30.
    appeal = receive(city, category=component_department_category(), now=cst(2026, 12, 15, 12, 30))
    assert appeal.deadline == cst(2026, 12, 15, 14, 30)
    staff = APIClient()
    staff.force_authenticate(city.users.department_handler)
    assert staff.get(f"/api/v1/appeals/{appeal.tracking_code}/").json()["deadline_text"] == "12月15日（周二）14:30"
    client.force_login(city.users.department_handler)
    page = client.get(reverse("appeals:detail", args=[appeal.tracking_code])).content.decode()
    assert "12月15日（周二）14:30" in page


def test_a_deadline_correction_is_told_on_the_tracking_page(city, appeal, client):
    # Its note is written for the resident too (appeals.recompute), and the page shows it.
    from appeals import events

    events.record_many([events.Event(
        appeal_id=appeal.pk, from_state=appeal.state, to_state=appeal.state,
        note="办结时限由 12月15日（周二）24:00 校正为 12月16日（周三）24:00。",
        data=events.DeadlineCorrect(deadline=("", ""), computed="", year=2026, reason="测试", inputs={}),
    )])
    client.post(reverse("public:track"), {"tracking_code": appeal.tracking_code, "phone_last4": "5678"})
    page = client.get(reverse("public:track-detail", args=[appeal.tracking_code])).content.decode()
    assert "时限校正" in page and "校正为 12月16日（周三）24:00" in page


def test_the_deadline_unit_follows_the_category_for_rows_without_inputs(city, appeal):
    # A row dispatched before the inputs were stored: its category says working days.
    type(appeal).objects.filter(pk=appeal.pk).update(deadline_unit=None)
    appeal.refresh_from_db()
    assert deadline_text(appeal) == TEXT
    assert deadline_text(appeal.deadline + timedelta(hours=2)) == "12月16日（周三）02:00"
