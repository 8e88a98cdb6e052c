"""Issue 18 §6: personal data past its retention is purged daily (个人信息保护法 第十九条):
finished appeals keep their record but lose the phone, name and photos; access and login
logs and expired one-time credentials go."""

import os
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from axes.models import AccessLog as LoginLog
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.authtoken.models import Token

from appeals.enums import AppealState
from appeals.models import Appeal, AppealAttachment
from appeals.selectors import appeal_track
from governance.enums import AccessAction
from governance.models import AccessLog
from governance.schedule import BEAT_SCHEDULE
from governance.tasks import retention_purge
from tests.appeals.factories import grid_category, receive

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def _finished(city, *, state=AppealState.CLOSED, ended_days_ago: int, phone="13812345678", name="王建国"):
    appeal = receive(city, category=grid_category(), phone=phone, name=name)
    ended = timezone.now() - ended_days_ago * DAY
    Appeal.objects.filter(pk=appeal.pk).update(
        state=state, closed_at=ended if state == AppealState.CLOSED else None, updated_at=ended)
    photo = AppealAttachment.objects.create(appeal=appeal, kind="intake")
    photo.image.save("p.jpg", ContentFile(b"\xff\xd8\xff not really a jpeg"), save=True)
    return Appeal.objects.get(pk=appeal.pk), photo


def test_finished_appeals_past_a_year_lose_phone_name_and_photos_but_stay(city):
    old, old_photo = _finished(city, ended_days_ago=366)
    declined, declined_photo = _finished(city, state=AppealState.DECLINED, ended_days_ago=400, phone="13900001111",
                                         name="李秀英")
    recent, recent_photo = _finished(city, ended_days_ago=364, phone="13700002222", name="赵敏")
    ongoing = receive(city, category=grid_category(), phone="13600003333", name="钱伟")
    Appeal.objects.filter(pk=ongoing.pk).update(created_at=timezone.now() - 800 * DAY)
    path = old_photo.image.path
    assert os.path.exists(path)

    result = retention_purge()
    assert result["contacts_masked"] == 2 and result["photos_deleted"] == 2

    old.refresh_from_db()
    assert (old.phone, old.name, old.state) == ("138****5678", "王*国", AppealState.CLOSED)
    assert old.events.count() >= 1 and not old.attachments.exists() and not os.path.exists(path)
    declined.refresh_from_db()
    assert (declined.phone, declined.name) == ("139****1111", "李*英")
    # The resident can still look it up with the code and the last 4 digits.
    assert appeal_track(tracking_code=old.tracking_code, phone_last4="5678").tracking_code == old.tracking_code
    # Within the period, and still open: untouched.
    recent.refresh_from_db()
    assert (recent.phone, recent.name) == ("13700002222", "赵敏") and recent.attachments.count() == 1
    assert Appeal.objects.get(pk=ongoing.pk).phone == "13600003333"
    # Run again: nothing more to do.
    again = retention_purge()
    assert again["contacts_masked"] == 0 and again["photos_deleted"] == 0


def test_the_periods_are_settings(city, settings):
    settings.APPEAL_CONTACT_RETENTION_DAYS = 30
    settings.APPEAL_PHOTO_RETENTION_DAYS = 90
    appeal, _photo = _finished(city, ended_days_ago=60)
    result = retention_purge()
    assert result["contacts_masked"] == 1 and result["photos_deleted"] == 0
    assert Appeal.objects.get(pk=appeal.pk).phone == "138****5678" and appeal.attachments.count() == 1


def test_logs_and_one_time_credentials_expire(city):
    now = timezone.now()
    user = city.users.community_worker
    for days in (3 * 365 + 1, 3 * 365 - 1):
        log = AccessLog.objects.create(user=user, action=AccessAction.VIEW, subject="household:1")
        AccessLog.objects.filter(pk=log.pk).update(created_at=now - days * DAY)
    for days in (181, 179):  # attempt_time is set on creation: moved back after
        fields = {"username": "grid_worker", "ip_address": "10.0.0.1", "user_agent": "t", "http_accept": "*",
                  "path_info": "/accounts/login/"}
        for model in (LoginLog, AccessFailureLog):
            row = model.objects.create(**fields)
            model.objects.filter(pk=row.pk).update(attempt_time=now - days * DAY)
    expired_token = Token.objects.create(user=city.users.grid_worker)
    Token.objects.filter(pk=expired_token.pk).update(created=now - 31 * DAY)
    live_token = Token.objects.create(user=city.users.street_officer)
    Session.objects.create(session_key="old", session_data="x", expire_date=now - DAY)
    Session.objects.create(session_key="live", session_data="x", expire_date=now + DAY)
    attempt = AccessAttempt.objects.create(username="x", ip_address="10.0.0.2", user_agent="t", get_data="",
                                           post_data="", http_accept="*", path_info="/", failures_since_start=3)
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=now - timedelta(minutes=16))

    result = retention_purge()
    assert (result["access_logs"], result["login_logs"], result["tokens"], result["sessions"],
            result["login_attempts"]) == (1, 2, 1, 1, 1)
    assert AccessLog.objects.count() == 1 and LoginLog.objects.count() == 1 and AccessFailureLog.objects.count() == 1
    assert list(Token.objects.values_list("key", flat=True)) == [live_token.key]
    assert list(Session.objects.values_list("session_key", flat=True)) == ["live"]
    assert not AccessAttempt.objects.exists()


def test_the_purge_runs_daily():
    entry = BEAT_SCHEDULE["retention-purge"]
    assert entry["task"] == "governance.tasks.retention_purge"
    assert str(entry["schedule"]) == "<crontab: 20 3 * * * (m/h/dM/MY/d)>"


def test_old_visit_records_lose_their_personal_data_but_keep_the_figures(city, settings, login):
    """A visit's notes, checklist, companions and photos are personal data about the household;
    past VISIT_RECORD_RETENTION_DAYS they are cleared, and what the figures read stays."""
    from datetime import date, datetime

    from appeals.models import Visit
    from appeals.visits import selectors as visit_selectors

    storage = AppealAttachment._meta.get_field("image").storage
    photo = storage.save("visits/p.jpg", ContentFile(b"\xff\xd8\xff not really a jpeg"))
    raised = receive(city, category=grid_category())
    long_ago = timezone.make_aware(datetime(2025, 11, 5, 10))
    now = long_ago + 366 * DAY

    def visit(at, **data):
        return Visit.objects.create(household=city.household_a1, territory_code=city.grid_a1.code, visited_at=at,
                                    visitor=city.users.grid_worker, visitor_label="网格员", method="home",
                                    counts_done=True, **data)

    old = visit(long_ago, notes="老人腿脚不便", companions="楼栋长 刘芳", checklist={"健康状况": "concern"},
                photos=[photo])
    old.appeals.add(raised)
    recent = visit(now - 30 * DAY, notes="一切正常", checklist={"健康状况": "good"})
    figures_before = visit_selectors.visit_month_figures(first=date(2025, 11, 1), last=date(2025, 11, 30),
                                                         today=date(2026, 12, 1))
    assert storage.exists(photo)

    from appeals.retention import purge_finished_appeals

    assert purge_finished_appeals(now=now).visits_cleared == 1
    old.refresh_from_db()
    assert (old.notes, old.companions, old.checklist, old.photos) == ("", "", {}, [])
    assert not storage.exists(photo)
    assert (old.visited_at, old.method, old.counts_done, old.household_id, old.territory_code) == (
        long_ago, "home", True, city.household_a1.pk, city.grid_a1.code)
    assert list(old.appeals.all()) == [raised]
    recent.refresh_from_db()
    assert recent.notes == "一切正常" and recent.checklist == {"健康状况": "good"}
    assert visit_selectors.visit_month_figures(first=date(2025, 11, 1), last=date(2025, 11, 30),
                                               today=date(2026, 12, 1)) == figures_before
    assert purge_finished_appeals(now=now).visits_cleared == 0  # twice: nothing left to clear
    # The page and the API say why the record is empty (the visit is well past a year by now).
    from django.urls import reverse

    client = login(city.users.grid_worker)
    page = client.get(reverse("visits:detail", args=[old.pk])).content.decode()
    assert 'id="visit-cleared"' in page and "365 天" in page and "老人腿脚不便" not in page
    assert 'id="visit-cleared"' not in client.get(reverse("visits:detail", args=[recent.pk])).content.decode()
    assert client.get(reverse("api-visit", args=[old.pk])).json()["cleared"] is True
    assert client.get(reverse("api-visit", args=[recent.pk])).json()["cleared"] is False
    settings.VISIT_RECORD_RETENTION_DAYS = 20
    assert purge_finished_appeals(now=now).visits_cleared == 1  # the period is a setting
    # The daily task runs it.
    assert "visits_cleared" in retention_purge()
