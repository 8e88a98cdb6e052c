"""GET requests, GET requests/{id}, GET tokens/{token}: filters, dates, the round trip
through the workflow, and no reporter's personal data anywhere."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appeals import services
from appeals.enums import AppealState, Source
from appeals.models import Appeal
from appeals.open311.selectors import MAX_RECORDS
from tests.appeals.factories import receive, street_category
from tests.open311.conftest import BASE, errors_of, json_body, xml

pytestmark = pytest.mark.django_db

REQUEST_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
]


def _id(response) -> str:
    return response.json()[0]["service_request_id"]


def _ids(response) -> list[str]:
    return [r["service_request_id"] for r in response.json()]


def _backdate(request_id: str, days: float) -> None:
    """As if the request had been filed (and last changed) ``days`` ago."""
    then = timezone.now() - timedelta(days=days)
    Appeal.objects.filter(pk=int(request_id)).update(created_at=then, updated_at=then)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_list_and_detail_in_both_formats(client, post_request, o311, fmt):
    request_id = _id(post_request(media_url="https://img.example.com/1.jpg"))
    for path in (f"requests.{fmt}", f"requests/{request_id}.{fmt}"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 200
        if fmt == "json":
            [row] = json_body(response)
        else:
            root = xml(response)
            assert root.tag == "service_requests"
            [request] = root.findall("request")
            assert [c.tag for c in request] == REQUEST_FIELDS
            row = {c.tag: c.text for c in request}
            row["lat"], row["long"] = float(row["lat"]), float(row["long"])
            row["description"] = row["description"] or ""
        assert list(row) == REQUEST_FIELDS
        assert row["service_request_id"] == request_id
        assert row["status"] == "open" and row["status_notes"] == "已派单"
        assert row["service_code"] == o311.garbage.code and row["service_name"] == "暴露垃圾"
        assert row["agency_responsible"] == "甲一社区第一网格"
        # The public policy: no summary approved yet, the street and 小区, no building, no client photo.
        assert row["description"] == ""
        assert row["address"] == "甲街道，和平里小区" and row["address_id"] is None
        assert (row["lat"], row["long"]) == (39.93, 116.41)
        assert row["media_url"] is None
        assert row["zipcode"] is None
        # ISO 8601 with the China offset.
        for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
            assert row[field].endswith("+08:00") and "T" in row[field], field


def test_every_channel_is_listed(client, o311):
    web = receive(o311.city, category=o311.garbage)
    assert _ids(client.get(f"{BASE}/requests.json")) == [str(web.pk)]
    # A web appeal is readable by its public id, but not by token (tokens are Open311's).
    assert client.get(f"{BASE}/requests/{web.pk}.json").status_code == 200
    assert client.get(f"{BASE}/tokens/{web.pk}.json").status_code == 404


def test_service_request_id_overrides_the_filters_but_not_the_window_or_the_cap(client, post_request, o311):
    """By ids too, only the last 90 days (a harvest by sequential ids took 11,368 appeals
    of every age), and at most 1,000 ids asked for, not only returned."""
    old = _id(post_request())
    _backdate(old, 120)
    new = _id(post_request(phone="13900002222"))
    newer = _id(post_request(phone="13900003333"))
    assert _ids(client.get(f"{BASE}/requests.json")) == [newer, new]  # the last 90 days by default
    response = client.get(f"{BASE}/requests.json", {
        "service_request_id": f"{old},{new},abc", "status": "closed", "service_code": "99999",
        "start_date": "2001-01-01T00:00:00Z", "end_date": "2001-01-02T00:00:00Z",
    })
    assert _ids(response) == [new]
    others = [str(int(newer) + 1 + n) for n in range(999)]  # ids of no appeal
    too_many = client.get(f"{BASE}/requests.json", {"service_request_id": ",".join([new, newer, *others])})
    assert too_many.status_code == 400
    assert errors_of(too_many, "json") == [(400, "service_request_id 一次最多 1000 个，收到 1001 个。")]
    at_cap = client.get(f"{BASE}/requests.json", {"service_request_id": ",".join([new, newer, *others[:998]])})
    assert at_cap.status_code == 200 and set(_ids(at_cap)) == {new, newer}
    # The request itself, by its own URL, is not a list: found whatever its age.
    assert client.get(f"{BASE}/requests/{old}.json").status_code == 200


def test_filters_by_service_code_and_status(client, post_request, o311):
    order = street_category(public=True)  # 占道经营: public, like 暴露垃圾
    garbage = _id(post_request())
    stalls = _id(post_request(service_code=order.code, phone="13900002222"))
    get = lambda **p: _ids(client.get(f"{BASE}/requests.json", p))  # noqa: E731
    assert get(service_code=o311.garbage.code) == [garbage]
    assert get(service_code=f"{o311.garbage.code},{order.code}") == [stalls, garbage]
    assert get(status="open") == [stalls, garbage]
    assert get(status="closed") == []
    assert get(status="open,closed") == [stalls, garbage]
    # Empty parameters behave as omitted ones.
    assert get(status="", service_code="", start_date="", end_date="", service_request_id="") == [stalls, garbage]


def test_date_filters(client, post_request):
    old = _id(post_request())
    _backdate(old, 100)
    new = _id(post_request(phone="13900002222"))
    get = lambda **p: _ids(client.get(f"{BASE}/requests.json", p))  # noqa: E731
    day = timezone.localdate() - timedelta(days=100)
    assert get(start_date=f"{day}T00:00:00+08:00", end_date=f"{day}T23:59:59+08:00") == [old]
    assert get(start_date=str(day), end_date=str(day)) == [old]  # a date is that whole day
    assert get(start_date=f"{day - timedelta(days=1)}T16:00:00Z") == [old]  # 90 days from the start
    assert get(end_date=f"{timezone.localdate()}") == [new]  # 90 days up to the end
    # An unencoded "+08:00" arrives as " 08:00" and is still understood.
    response = client.get(f"{BASE}/requests.json?start_date={day}T00:00:00+08:00&end_date={day}T23:59:59+08:00")
    assert _ids(response) == [old]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2025-13-45T00:00:00Z"}, "end_date"),
        ({"start_date": "2025-05-02T00:00:00Z", "end_date": "2025-05-01T00:00:00Z"}, "不能早于"),
        ({"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-05-01T00:00:00Z"}, "90 天"),
        ({"status": "pending"}, "status"),
    ],
)
def test_bad_query_is_400(client, o311, fmt, params, message):
    response = client.get(f"{BASE}/requests.{fmt}", params)
    assert response.status_code == 400
    [(code, description)] = errors_of(response, fmt)
    assert code == 400 and message in description


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("request_id", ["999999", "abc", "0"])
def test_unknown_request_id_is_404(client, o311, fmt, request_id):
    response = client.get(f"{BASE}/requests/{request_id}.{fmt}")
    assert response.status_code == 404
    assert errors_of(response, fmt)[0][0] == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_token_maps_to_the_request_id(client, post_request, fmt):
    request_id = _id(post_request())
    response = client.get(f"{BASE}/tokens/{request_id}.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        assert json_body(response) == [{"service_request_id": request_id, "token": request_id}]
    else:
        request = xml(response).find("request")
        assert (request.findtext("service_request_id"), request.findtext("token")) == (request_id, request_id)
    missing = client.get(f"{BASE}/tokens/nope.{fmt}")
    assert missing.status_code == 404 and errors_of(missing, fmt)[0][0] == 404


def test_at_most_1000_records_in_few_queries(client, o311, django_assert_max_num_queries):
    appeal = receive(o311.city, category=o311.garbage)
    fields = {f.attname: getattr(appeal, f.attname) for f in Appeal._meta.concrete_fields
              if f.attname not in ("id", "tracking_code")}
    Appeal.objects.bulk_create(
        [Appeal(**fields, tracking_code=f"T{i:011d}") for i in range(MAX_RECORDS + 4)]
    )
    with django_assert_max_num_queries(3):
        rows = client.get(f"{BASE}/requests.json").json()
    assert len(rows) == MAX_RECORDS
    assert all(r["agency_responsible"] == "甲一社区第一网格" for r in rows)


def _status(client, request_id: str) -> dict:
    return client.get(f"{BASE}/requests/{request_id}.json").json()[0]


def test_round_trip_to_closed(client, post_request, o311):
    """A client files a request, finds it, and follows it through the workflow to closed;
    the status notes are the state, never the result's free text."""
    request_id = _id(post_request())
    _backdate(request_id, 1)
    today = timezone.localdate()
    found = client.get(f"{BASE}/requests.json", {"start_date": str(today - timedelta(days=2)), "end_date": str(today)})
    assert _ids(found) == [request_id]
    before = _status(client, request_id)
    assert before["status"] == "open" and before["status_notes"] == "已派单"

    appeal = Appeal.objects.get(pk=int(request_id))
    worker = o311.city.users.grid_worker
    services.appeal_act(actor=worker, appeal=appeal, action="sign", contact=True)
    services.appeal_act(actor=worker, appeal=appeal, action="resolve", result="已联系王建国清运，并与物业约定每日巡查。")
    assert appeal.state == AppealState.AWAITING_EVALUATION  # the result SMS is the feedback
    resolved = _status(client, request_id)
    assert resolved["status"] == "open"  # open until the resident evaluates
    assert resolved["status_notes"] == "待评价"
    assert resolved["updated_datetime"] > before["updated_datetime"]

    services.appeal_evaluate(tracking_code=appeal.tracking_code, phone_last4="5678", solved=True, rating="satisfied")
    closed = _status(client, request_id)
    assert closed["status"] == "closed" and closed["status_notes"] == "已结案"
    assert closed["updated_datetime"] >= resolved["updated_datetime"] > before["updated_datetime"]
    assert _ids(client.get(f"{BASE}/requests.json", {"status": "closed"})) == [request_id]
    assert _ids(client.get(f"{BASE}/requests.json", {"status": "open"})) == []
    root = xml(client.get(f"{BASE}/requests/{request_id}.xml"))
    assert root.findtext("request/status") == "closed"


def test_declined_and_withdrawn_appeals_are_never_public(client, o311):
    declined = receive(o311.city, category=o311.garbage, building=None, community=o311.city.comm_a,
                       address_text="和平里3号院门口", source=Source.WEB, phone="13900003333")
    services.appeal_act(actor=o311.city.users.community_worker, appeal=declined, action="decline",
                        reason="重复提交，已电话联系 13900003333 说明。")
    withdrawn = receive(o311.city, category=o311.garbage, phone="13900004444")
    services.appeal_withdraw_by_resident(tracking_code=withdrawn.tracking_code, phone_last4="4444")
    listed = receive(o311.city, category=o311.garbage, phone="13900005555")
    assert _ids(client.get(f"{BASE}/requests.json")) == [str(listed.pk)]
    by_ids = client.get(f"{BASE}/requests.json", {"service_request_id": f"{declined.pk},{withdrawn.pk},{listed.pk}"})
    assert _ids(by_ids) == [str(listed.pk)]
    for appeal in (declined, withdrawn):
        assert client.get(f"{BASE}/requests/{appeal.pk}.json").status_code == 404


def test_no_personal_data_of_the_reporter_in_any_response(client, post_request, o311):
    secret_bits = ["王建国", "13812345678", "wangjg@example.com", "502", "110101199001011234", "和平里1号楼"]
    description = "我是王建国，住和平里1号楼3单元502室，电话13812345678，身份证110101199001011234，邮箱wangjg@example.com。垃圾没人管"
    bodies = []
    for fmt in ("json", "xml"):
        response = post_request(fmt, description=description)
        bodies.append(response.content.decode())
        request_id = response.json()[0]["service_request_id"] if fmt == "json" else xml(response).findtext(
            "request/service_request_id")
        bodies.append(client.get(f"{BASE}/requests/{request_id}.{fmt}").content.decode())
        bodies.append(client.get(f"{BASE}/requests.{fmt}").content.decode())
        bodies.append(client.get(f"{BASE}/tokens/{request_id}.{fmt}").content.decode())
    appeals = list(Appeal.objects.order_by("pk"))
    assert len(appeals) == 2 and all(a.name == "王建国" for a in appeals)
    # A summary that still holds what slipped past the person approving it: the redaction catches it.
    services.appeal_act(actor=o311.city.users.grid_worker, appeal=appeals[0], action="publish",
                        summary="王建国反映3单元502室门口垃圾没人管，电话138 1234 5678。")
    published = client.get(f"{BASE}/requests/{appeals[0].pk}.json")
    bodies.append(published.content.decode())
    for body in bodies:
        for bit in secret_bits + [a.tracking_code for a in appeals]:
            assert bit not in body
    assert published.json()[0]["description"] == "***反映***门口垃圾没人管，电话***。"


def test_xml_escapes_markup_and_drops_illegal_characters(client, post_request, o311):
    request_id = _id(post_request())
    services.appeal_act(actor=o311.city.users.grid_worker, appeal=Appeal.objects.get(pk=int(request_id)),
                        action="publish", summary="<b>垃圾</b> & 污水 \x01\x0b 溢出 ]]>")
    root = xml(client.get(f"{BASE}/requests/{request_id}.xml"))
    assert root.findtext("request/description") == "<b>垃圾</b> & 污水  溢出 ]]>"


