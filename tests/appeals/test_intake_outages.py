"""Intake that survives what is down (issue 16): with the cache (Redis) unreachable the rate
limits count in the database and nothing answers 500; the limiter is charged only for a
submission that was saved with its photos; a photo the media storage cannot take is left
out, the appeal saved, and the resident told which photo it was."""

import pytest
from django.urls import reverse

from appeals.models import Appeal, AppealAttachment
from governance.kernel import counters
from governance.models import RateCounter
from tests.appeals.test_public_pages import SUBMIT, TRACK, form_data, text
from tests.helpers import jpeg, track_url

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: a real Redis server that is not there.
CACHE_DOWN = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": "redis://127.0.0.1:1/1", "OPTIONS": {"socket_connect_timeout": 0.5}}}


@pytest.fixture
def category(db):
    from tests.appeals.factories import grid_category

    return grid_category()


def test_with_the_cache_down_intake_is_limited_from_the_database_and_never_500(client, city, category, settings,
                                                                             caplog):
    settings.CACHES = CACHE_DOWN
    settings.APPEAL_INTAKE_RATE_PER_PHONE = "2/day"
    answers = [client.post(SUBMIT, form_data(city, category)).status_code for _i in range(3)]
    assert answers == [302, 302, 429]
    assert Appeal.objects.count() == 2
    assert "counting in the database" in caplog.text
    # Two counters (address, phone), each charged twice: the refused third was not saved.
    assert sorted(RateCounter.objects.values_list("count", flat=True)) == [2, 2]
    # The API says the same.
    body = {"category": category.code, "building": city.building_a1.code, "description": "楼道灯坏了",
            "phone": "13812345678"}
    response = client.post("/api/v1/appeals/", body, content_type="application/json")
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"


def test_with_the_cache_down_tracking_guesses_are_counted_in_the_database(client, city, category, settings):
    from tests.appeals.factories import receive

    appeal = receive(city, category=category)
    settings.CACHES = CACHE_DOWN
    settings.APPEAL_TRACK_FAILURES_PER_IP = "2/hour"
    for last4 in ("0000", "1111"):
        response = client.post(TRACK, {"tracking_code": appeal.tracking_code, "phone_last4": last4})
        assert response.status_code == 200 and "查询码或手机号后四位不正确" in text(response)
    response = client.post(TRACK, {"tracking_code": appeal.tracking_code, "phone_last4": "5678"})
    assert response.status_code == 429
    response = client.post(track_url(appeal.tracking_code), {"phone_last4": "5678"}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 302  # another address gets in


def test_the_cache_is_tried_again_after_the_pause(settings, monkeypatch):
    settings.CACHES = CACHE_DOWN
    rate = counters.Rate(5, 60)
    assert counters.hit_all([("t", "x", rate)]) is None  # the database counted it
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert counters.hit_all([("t", "x", rate)]) is None
    assert RateCounter.objects.get().count == 2  # paused: still the database
    counters.reset_cache_pause()  # CACHE_PAUSE_SECONDS later
    assert counters.hit_all([("t", "x", rate)]) is None
    assert RateCounter.objects.get().count == 2 and counters.counts([("t", "x", rate)]) == [1]


def test_the_database_counters_window_ends_and_is_purged(settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.CACHES = CACHE_DOWN
    rate = counters.Rate(1, 60)
    assert counters.hit_all([("t", "y", rate)]) is None
    assert counters.hit_all([("t", "y", rate)]) == 0  # over
    assert counters.purge(now=timezone.now() + timedelta(seconds=121)) == 1
    assert not RateCounter.objects.exists()


def test_a_photo_the_media_storage_cannot_take_is_reported_and_the_appeal_is_saved_uncharged(
    client, city, category, settings, tmp_path, sms_outbox, django_capture_on_commit_callbacks,
):
    # The media root lies under a regular file: every write fails as on a full or read-only disk.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    settings.MEDIA_ROOT = str(blocker / "media")
    settings.APPEAL_INTAKE_RATE_PER_PHONE = "1/day"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SUBMIT, {**form_data(city, category), "photos": [jpeg("楼道.jpg")]})
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert not AppealAttachment.objects.exists()
    assert appeal.events.get(action="receive").data["photos_not_stored"] == 1
    assert [m.template for m in sms_outbox] == ["received"]  # the resident still gets the code
    done = text(client.get(reverse("public:submit-done")))
    assert appeal.tracking_code in done and "以下照片暂时未能保存" in done and "楼道.jpg" in done
    # Not charged: the resident may send the photo again today (the limit is 1 a day).
    settings.MEDIA_ROOT = str(tmp_path / "media")
    assert client.post(SUBMIT, {**form_data(city, category), "photos": [jpeg()]}).status_code == 302
    assert AppealAttachment.objects.count() == 1
    assert client.post(SUBMIT, form_data(city, category)).status_code == 429  # this one was charged


def test_the_api_names_the_photos_not_stored(client, city, category, settings, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings.MEDIA_ROOT = str(blocker / "media")
    response = client.post("/api/v1/appeals/", {
        "category": category.code, "building": city.building_a1.code, "description": "路灯不亮",
        "phone": "13812345678", "photos": [jpeg("a.jpg")]})
    assert response.status_code == 201, response.content
    assert response.json()["photos_not_stored"] == ["a.jpg"]


def test_a_staff_action_whose_photo_cannot_be_stored_is_refused_with_503(city, category, settings, tmp_path, login):
    from tests.appeals.factories import receive

    appeal = receive(city, category=category)
    client = login(city.users.grid_worker)
    client.post(reverse("appeals:action", args=[appeal.tracking_code, "sign"]), {"expected_version": appeal.version})
    appeal.refresh_from_db()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings.MEDIA_ROOT = str(blocker / "media")
    response = client.post(reverse("appeals:action", args=[appeal.tracking_code, "resolve"]),
                           {"expected_version": appeal.version, "result": "已清理", "photos": [jpeg()]})
    assert response.status_code == 503
    assert "照片暂时无法保存" in text(response)
    appeal.refresh_from_db()
    assert appeal.state == "in_progress"  # nothing happened


def test_token_login_is_throttled_from_the_database_with_the_cache_down(city, settings, monkeypatch):
    from rest_framework.test import APIClient

    from governance.kernel.api.throttling import AnonRateThrottle

    settings.CACHES = CACHE_DOWN
    # DRF reads its rates into the class when it is imported: set the rate there.
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute"})
    client = APIClient()
    answers = [client.post("/api/v1/auth/token/", {"username": "grid_worker", "password": "wrong"},
                           format="json").status_code for _i in range(3)]
    assert answers == [400, 400, 429]
