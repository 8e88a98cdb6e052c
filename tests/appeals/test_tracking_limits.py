"""Issue 18 §2: tracking tries are limited per code and per address, every answer says
how many are left, the digits travel in a body (never a URL), and the SMS link opens the
appeal without them (its token masked in logs)."""

import logging
import re
import runpy
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from appeals.tracking import link_token
from governance.kernel.logmask import MaskSecrets
from tests.appeals.factories import grid_category, receive

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def appeal(city, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return receive(city, category=grid_category())  # phone 13812345678


def api_track(appeal_or_code, last4, *, ip="203.0.113.1"):
    code = getattr(appeal_or_code, "tracking_code", appeal_or_code)
    return APIClient(REMOTE_ADDR=ip).post(f"/api/v1/track/{code}/", {"phone_last4": last4}, format="json")


def test_the_right_digits_still_work_after_five_wrong_ones_and_every_answer_counts_down(appeal):
    for n, last4 in enumerate(("0000", "1111", "2222", "3333", "4444"), start=1):
        wrong = api_track(appeal, last4)
        assert wrong.status_code == 404
        assert wrong.json()["tries_left"] == 10 - n
        assert wrong.json()["detail"] == f"查询码或手机号后四位不正确，还可尝试 {10 - n} 次。"
    right = api_track(appeal, "5678")
    assert right.status_code == 200
    assert right.json()["tracking_code"] == appeal.tracking_code and right.json()["tries_left"] == 5


def test_a_query_string_is_refused(appeal):
    response = APIClient().get(f"/api/v1/track/{appeal.tracking_code}/", {"phone_last4": "5678"})
    assert response.status_code == 400
    assert "POST" in response.json()["detail"]
    assert "tracking_code" not in response.json()


def test_ten_wrong_tries_pause_the_code_for_everybody_until_the_hour_ends(appeal, client):
    for n in range(10):  # ten different addresses: the code is what is being guessed
        assert api_track(appeal, f"{n:04d}", ip=f"203.0.113.{n + 10}").status_code == 404
    paused = api_track(appeal, "5678", ip="198.51.100.50")  # the resident, from home
    assert paused.status_code == 429 and paused.json()["code"] == "tracking_paused"
    until = timezone.localtime(timezone.datetime.fromisoformat(paused.json()["paused_until"]))
    assert until.minute == 0 and until.second == 0  # the end of the clock hour
    assert 0 < int(paused["Retry-After"]) <= 3600
    # The time, with its date when the pause ends on another day (run in the day's last hour).
    said = re.compile(rf"验证已暂停至 (?:{until:%m-%d} )?{until:%H:%M}。")
    assert said.search(paused.json()["detail"]), paused.json()["detail"]
    # The page says until when too.
    page = client.post(reverse("public:track-detail", args=[appeal.tracking_code]), {"phone_last4": "5678"},
                       REMOTE_ADDR="198.51.100.50")
    assert page.status_code == 429 and said.search(page.content.decode())
    assert 0 < int(page["Retry-After"]) <= 3600


def test_neighbours_behind_one_address_are_not_locked_out_by_a_few_mistakes(appeal, city):
    nat = "203.0.113.77"
    for n in range(15):  # many residents of one estate mistyping their own codes
        assert api_track(f"NOSUCHCODE{n:02d}", "0000", ip=nat).status_code == 404
    assert api_track(appeal, "5678", ip=nat).status_code == 200
    page = Client(REMOTE_ADDR=nat).post(reverse("public:track"), {"tracking_code": appeal.tracking_code,
                                                                  "phone_last4": "5678"})
    assert page.status_code == 302


def test_one_address_gets_a_hundred_wrong_tries_across_codes_then_429_with_retry_after(appeal):
    scanner = "203.0.113.99"
    for n in range(100):
        assert api_track(f"SCAN{n:08d}", "0000", ip=scanner).status_code == 404
    refused = api_track(appeal, "5678", ip=scanner)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert refused.json()["tries_left"] == 0 and 0 < int(refused["Retry-After"]) <= 3600
    # The resident from anywhere else is not affected.
    assert api_track(appeal, "5678", ip="198.51.100.1").status_code == 200


def test_the_page_says_how_many_tries_are_left(appeal, client):
    url = reverse("public:track-detail", args=[appeal.tracking_code])
    assert "本小时还可输错 10 次" in client.get(url).content.decode()
    wrong = client.post(url, {"phone_last4": "0000"})
    assert "查询码或手机号后四位不正确，还可尝试 9 次。" in wrong.content.decode()
    assert "本小时还可输错 9 次" in client.get(url).content.decode()


def test_the_sms_link_opens_the_appeal_without_the_digits(appeal, sms_outbox):
    (message,) = [m.message for m in sms_outbox]
    link = re.search(r"https?://\S+", message).group(0)
    path = link.split("//", 1)[1].split("/", 1)[1]
    assert path == f"track/{appeal.tracking_code}/k/{link_token(appeal)}/"
    browser = Client()
    opened = browser.get("/" + path)
    assert opened.status_code == 302 and opened.url == reverse("public:track-detail", args=[appeal.tracking_code])
    page = browser.get(opened.url).content.decode()
    assert "办理过程" in page and appeal.description in page


def test_the_sms_link_works_while_the_code_is_paused(appeal):
    for n in range(10):
        api_track(appeal, f"{n:04d}")
    assert api_track(appeal, "5678").status_code == 429
    browser = Client()
    browser.get(reverse("public:track-link", args=[appeal.tracking_code, link_token(appeal)]))
    assert "办理过程" in browser.get(reverse("public:track-detail", args=[appeal.tracking_code])).content.decode()


def test_a_forged_link_opens_nothing(appeal, city):
    other = receive(city, category=grid_category(), phone="13900002222")
    browser = Client()
    for token in ("A" * 22, link_token(other), link_token(appeal)[:-1] + "x"):
        response = browser.get(reverse("public:track-link", args=[appeal.tracking_code, token]), follow=True)
        page = response.content.decode()
        assert "办理过程" not in page and "链接无效" in page
    # A link is bound to the phone too: the same code with another number is another token.
    appeal.phone = "13700001111"
    assert link_token(appeal) != link_token(type(appeal).objects.get(pk=appeal.pk))


def _masking_handler():
    return next(h for h in logging.getLogger().handlers if any(isinstance(f, MaskSecrets) for f in h.filters))


def test_the_link_token_is_masked_in_the_portals_logs(appeal):
    token = link_token(appeal)
    record = logging.LogRecord("django.server", logging.INFO, __file__, 1, '"GET %s HTTP/1.1" 302 0',
                               (f"/track/{appeal.tracking_code}/k/{token}/",), None)
    assert _masking_handler().filter(record)
    line = record.getMessage()
    assert token not in line and appeal.tracking_code not in line and "/track/***/k/***/" in line
    # Every handler the portal configures masks; runserver's request lines use one of them.
    config = settings.LOGGING
    assert all("mask_secrets" in h.get("filters", []) for h in config["handlers"].values())
    assert config["loggers"]["django.server"]["handlers"] and config["root"]["handlers"]


def test_the_link_token_is_masked_in_gunicorns_access_log(appeal):
    config = runpy.run_path(str(ROOT / "governance" / "gunicorn_conf.py"))["logconfig_dict"]
    access = config["loggers"]["gunicorn.access"]["handlers"]
    assert access and all("mask_secrets" in config["handlers"][h]["filters"] for h in access)
    assert config["filters"]["mask_secrets"]["()"] == "governance.kernel.logmask.MaskSecrets"
    token = link_token(appeal)
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, '%(h)s "%(r)s"',
                               ({"h": "1.2.3.4", "r": f"GET /track/{appeal.tracking_code}/k/{token}/ HTTP/1.1"},),
                               None)
    MaskSecrets().filter(record)
    assert token not in record.getMessage() and "/track/***/k/***/" in record.getMessage()
