"""我的诉求 (issue 20 §1): the phone proven by a one-time SMS code — 6 digits, 5 minutes,
5 tries, one code per 60 s and 10 a day per phone, a cap per client address; codes stored
hashed; the phone's appeals of the last 12 months; a session of a day at most, ended by
退出; the number never in a URL or a log."""

import logging
import re
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appeals import my_views, phone_proof
from appeals.models import Appeal, PhoneCode
from appeals.phone_proof import CodeRefused
from appeals.ratelimit import RateLimited
from tests.appeals.factories import grid_category, receive
from tests.helpers import jpeg, track_url

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
OTHER = "13999990000"
MY = reverse("public:my-appeals")
CODE = reverse("public:my-code")
VERIFY = reverse("public:my-verify")
LOGOUT = reverse("public:my-logout")


def sent_code(sms_outbox, relay, phone=PHONE) -> str:
    """The newest one-time code the SMS gateway was handed for ``phone``."""
    relay()
    codes = [m.params["code"] for m in sms_outbox if m.template == "phone_code" and m.phone == phone]
    assert codes, [m.template for m in sms_outbox]
    return codes[-1]


# --- the code: the service ----------------------------------------------------------------------


def test_a_code_is_six_digits_by_sms_and_stored_only_as_digests(sms_outbox, relay):
    phone_proof.phone_code_send(phone=PHONE, ip="10.0.0.1")
    code = sent_code(sms_outbox, relay)
    assert re.fullmatch(r"\d{6}", code)
    message = [m for m in sms_outbox if m.template == "phone_code"][-1]
    assert code in message.message and "5 分钟内有效" in message.message
    row = PhoneCode.objects.get()
    stored = " ".join(str(v) for v in PhoneCode.objects.values_list("phone_digest", "code_digest").get())
    assert PHONE not in stored and code not in stored and len(row.phone_digest) == 64
    assert row.expires_at - row.created_at == timedelta(minutes=5)
    # Once the gateway took it, the outbox row forgets the code too.
    from governance.models import OutboxMessage

    assert OutboxMessage.objects.get(template="phone_code").params == {"code": "******", "minutes": 5}


def test_the_console_gateway_logs_neither_the_number_nor_the_code(caplog):
    from appeals import sms

    with caplog.at_level(logging.INFO, logger="appeals.sms"):
        sms.ConsoleSmsBackend().send(phone=PHONE, template="phone_code", params={"code": "482915", "minutes": 5},
                                     key="k")
    logged = caplog.text
    assert "验证码为 ******" in logged
    assert "482915" not in logged and PHONE not in logged and "138****5678" in logged



def test_with_debug_on_the_console_gateway_shows_the_code_for_the_developer(caplog, settings):
    from appeals import sms

    settings.DEBUG = True
    with caplog.at_level(logging.INFO, logger="appeals.sms"):
        sms.ConsoleSmsBackend().send(phone=PHONE, template="phone_code", params={"code": "482915", "minutes": 5},
                                     key="k")
    assert "验证码为 482915" in caplog.text and PHONE not in caplog.text


def test_one_code_per_minute_per_phone_then_another():
    now = timezone.now()
    phone_proof.phone_code_send(phone=PHONE, ip="10.0.0.1", now=now)
    with pytest.raises(RateLimited, match=r"请 (5[0-9]|60) 秒后再重新获取") as refused:
        phone_proof.phone_code_send(phone=PHONE, ip="10.0.0.1", now=now + timedelta(seconds=5))
    assert refused.value.retry_after == 55
    # Another phone is not held up, and this one may ask again after 60 s.
    phone_proof.phone_code_send(phone=OTHER, ip="10.0.0.1", now=now + timedelta(seconds=5))
    phone_proof.phone_code_send(phone=PHONE, ip="10.0.0.1", now=now + timedelta(seconds=60))
    assert PhoneCode.objects.count() == 3


def test_ten_codes_a_day_per_phone():
    now = timezone.now()
    for n in range(10):
        phone_proof.phone_code_send(phone=PHONE, ip=f"10.0.0.{n}", now=now + timedelta(minutes=n))
    with pytest.raises(RateLimited, match="今日获取验证码的次数已达上限"):
        phone_proof.phone_code_send(phone=PHONE, ip="10.0.1.1", now=now + timedelta(minutes=11))
    assert PhoneCode.objects.count() == 10
    phone_proof.phone_code_send(phone=OTHER, ip="10.0.1.1", now=now + timedelta(minutes=11))


def test_a_client_address_has_its_own_cap_across_phones(settings):
    settings.PHONE_CODE_RATE_PER_IP = "3/hour"
    for n in range(3):
        phone_proof.phone_code_send(phone=f"1370000000{n}", ip="10.9.9.9")
    with pytest.raises(RateLimited, match="您所在网络获取验证码过于频繁"):
        phone_proof.phone_code_send(phone="13700000009", ip="10.9.9.9")
    phone_proof.phone_code_send(phone="13700000009", ip="10.9.9.10")  # another address is not held up


def test_five_tries_then_the_code_is_spent(sms_outbox, relay):
    phone_proof.phone_code_send(phone=PHONE, ip="10.0.0.1")
    code = sent_code(sms_outbox, relay)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeRefused, match=f"还可尝试 {left} 次"):
            phone_proof.phone_code_verify(phone=PHONE, code=wrong)
    with pytest.raises(CodeRefused, match="输错次数过多"):
        phone_proof.phone_code_verify(phone=PHONE, code=wrong)
    # Even the right code no longer opens anything.
    with pytest.raises(CodeRefused, match="输错次数过多"):
        phone_proof.phone_code_verify(phone=PHONE, code=code)
    assert PhoneCode.objects.get().attempts == 5


def test_a_code_works_once_within_five_minutes_and_only_the_newest(sms_outbox, relay):
    now = timezone.now()
    phone_proof.phone_code_send(phone=PHONE, ip="10.0.0.1", now=now)
    first = sent_code(sms_outbox, relay)
    with pytest.raises(CodeRefused, match="已失效"):
        phone_proof.phone_code_verify(phone=PHONE, code=first, now=now + timedelta(seconds=301))
    phone_proof.phone_code_send(phone=PHONE, ip="10.0.0.1", now=now + timedelta(seconds=61))
    second = sent_code(sms_outbox, relay)
    if first != second:
        with pytest.raises(CodeRefused):
            phone_proof.phone_code_verify(phone=PHONE, code=first, now=now + timedelta(seconds=62))
    phone_proof.phone_code_verify(phone=PHONE, code=second, now=now + timedelta(seconds=63))
    with pytest.raises(CodeRefused, match="已失效"):
        phone_proof.phone_code_verify(phone=PHONE, code=second, now=now + timedelta(seconds=64))
    # Another phone's code does not prove this one.
    with pytest.raises(CodeRefused):
        phone_proof.phone_code_verify(phone=OTHER, code=second)


def test_the_appeals_of_the_phone_from_the_last_twelve_months(city):
    category = grid_category()
    recent = receive(city, category=category, phone=PHONE)
    eleven = receive(city, category=category, phone=PHONE)
    thirteen = receive(city, category=category, phone=PHONE)
    receive(city, category=category, phone=OTHER)
    now = timezone.now()
    Appeal.objects.filter(pk=eleven.pk).update(created_at=now - timedelta(days=335))
    Appeal.objects.filter(pk=thirteen.pk).update(created_at=now - timedelta(days=396))
    codes = [a.tracking_code for a in phone_proof.my_appeals(phone=PHONE)]
    assert codes == [recent.tracking_code, eleven.tracking_code]
    assert phone_proof.owns(phone=PHONE, tracking_code=eleven.tracking_code)
    assert not phone_proof.owns(phone=PHONE, tracking_code=thirteen.tracking_code)


def test_twelve_months_back_is_a_calendar_window():
    moment = timezone.now().replace(year=2025, month=3, day=31, hour=12)
    start = phone_proof.window_start(moment)
    assert (start.year, start.month, start.day) == (2024, 3, 31)


# --- the pages --------------------------------------------------------------------------------


def _prove(client, sms_outbox, relay, phone=PHONE):
    response = client.post(CODE, {"phone": phone})
    assert response.status_code == 302 and phone not in response.url
    response = client.post(VERIFY, {"code": sent_code(sms_outbox, relay, phone)})
    assert response.status_code == 302 and response.url == MY
    return response


def test_the_phone_then_the_code_then_the_list_linking_to_tracking_pages(
        client, city, sms_outbox, relay, caplog, django_assert_max_num_queries):
    category = grid_category()
    mine = receive(city, category=category, phone=PHONE, photos=[jpeg()])
    theirs = receive(city, category=category, phone=OTHER)
    page = client.get(MY).content.decode()
    assert 'id="my-phone-form"' in page and "获取验证码" in page

    caplog.set_level(logging.DEBUG)
    response = client.post(CODE, {"phone": "138 1234 5678"})
    assert response.status_code == 302 and response.url == MY
    page = client.get(MY).content.decode()
    assert "138****5678" in page and PHONE not in page and 'id="my-code-form"' in page
    assert "秒后可重新获取" in page

    bad = client.post(VERIFY, {"code": "12345"})
    assert bad.status_code == 400 and "6 位数字" in bad.content.decode()
    code = sent_code(sms_outbox, relay)
    wrong = client.post(VERIFY, {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 400 and "还可尝试 4 次" in wrong.content.decode()
    before = client.cookies["sessionid"].value
    assert client.post(VERIFY, {"code": code}).url == MY
    assert client.cookies["sessionid"].value != before, "a proof gets a new session id"

    with django_assert_max_num_queries(4):  # session, the appeals with their category, the session's save
        page = client.get(MY).content.decode()
    assert mine.tracking_code in page and theirs.tracking_code not in page
    assert track_url(mine.tracking_code) in page and PHONE not in page
    # The tracking page and the photos open without the digits…
    detail = client.get(track_url(mine.tracking_code))
    assert detail.status_code == 200 and "办理过程" in detail.content.decode()
    photo = mine.attachments.get()
    assert client.get(reverse("public:track-photo", args=[mine.tracking_code, photo.pk])).status_code == 200
    # …but not another phone's appeal.
    assert "name=\"phone_last4\"" in client.get(track_url(theirs.tracking_code)).content.decode()
    assert PHONE not in caplog.text and code not in caplog.text


def test_a_wrong_phone_and_the_limits_say_what_to_do(client, city):
    response = client.post(CODE, {"phone": "0101234567"})
    assert response.status_code == 400 and "手机号" in response.content.decode()
    assert client.post(CODE, {"phone": PHONE}).status_code == 302
    again = client.post(CODE, {"resend": "1"})
    assert again.status_code == 429 and "秒后再重新获取" in again.content.decode()
    assert int(again["Retry-After"]) <= 60


def test_the_proof_lasts_a_day_at_most_and_logout_ends_it(client, city, sms_outbox, relay, monkeypatch):
    appeal = receive(city, category=grid_category(), phone=PHONE)
    _prove(client, sms_outbox, relay)
    assert appeal.tracking_code in client.get(MY).content.decode()
    real = time.time
    monkeypatch.setattr(my_views.time, "time", lambda: real() + 24 * 3600 + 1)
    page = client.get(MY).content.decode()
    assert 'id="my-phone-form"' in page and appeal.tracking_code not in page
    monkeypatch.setattr(my_views.time, "time", real)
    assert appeal.tracking_code in client.get(MY).content.decode()

    assert client.post(LOGOUT).url == MY
    page = client.get(MY).content.decode()
    assert 'id="my-phone-form"' in page and appeal.tracking_code not in page
    assert "name=\"phone_last4\"" in client.get(track_url(appeal.tracking_code)).content.decode()


def test_the_tracking_page_logout_also_ends_the_phone_proof(client, city, sms_outbox, relay):
    appeal = receive(city, category=grid_category(), phone=PHONE)
    _prove(client, sms_outbox, relay)
    client.post(reverse("public:track-forget", args=[appeal.tracking_code]))
    assert 'id="my-phone-form"' in client.get(MY).content.decode()


def test_verifying_without_a_pending_code_asks_for_one(client, city):
    response = client.post(VERIFY, {"code": "123456"}, follow=True)
    assert "验证码已失效，请重新获取" in response.content.decode()


def test_old_codes_are_deleted_by_the_daily_retention_purge():
    from appeals.retention import purge_finished_appeals

    now = timezone.now()
    phone_proof.phone_code_send(phone=PHONE, ip="10.0.0.1", now=now - timedelta(days=3))
    phone_proof.phone_code_send(phone=OTHER, ip="10.0.0.1", now=now - timedelta(hours=23))
    assert purge_finished_appeals(now=now).phone_codes_deleted == 1
    assert PhoneCode.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_of_concurrent_requests_for_one_phone_one_code_is_sent():
    from tests.helpers import run_at_once

    sent, refused = run_at_once([lambda: phone_proof.phone_code_send(phone=PHONE, ip=f"10.1.0.{n}")
                                 for n in range(4)], expected=(RateLimited,))
    assert len(sent) == 1 and len(refused) == 3
    assert all("秒后再重新获取" in exc.message for exc in refused)
    assert PhoneCode.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_guesses_get_five_tries_in_all():
    from tests.helpers import run_at_once

    phone_proof.phone_code_send(phone=PHONE, ip="10.0.0.1")
    # Wrong guesses: a 7-digit string never matches, and counts as a try.
    _, refused = run_at_once([lambda: phone_proof.phone_code_verify(phone=PHONE, code="1234567")
                              for _ in range(8)], expected=(CodeRefused,))
    assert len(refused) == 8
    assert PhoneCode.objects.get().attempts == 5
    assert sum("输错次数过多" in exc.message for exc in refused) >= 3
