"""POST requests: keys, locations, the intake service's rules, attributes, rate limits."""

import pytest

from appeals.enums import AppealAction, AppealState, Source
from appeals.models import Appeal
from appeals.open311.enums import AttributeType
from appeals.open311.models import Open311Request, ServiceAttribute
from tests.open311.conftest import BASE, errors_of, json_body, xml

pytestmark = pytest.mark.django_db


def _appeal(response) -> Appeal:
    return Appeal.objects.get(pk=int(response.json()[0]["service_request_id"]))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_files_an_appeal_through_the_intake_service(
    post_request, o311, fmt, sms_outbox, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_request(fmt)
    assert response.status_code == 200
    if fmt == "json":
        [row] = json_body(response)
        assert set(row) == {"service_request_id", "service_notice", "account_id"}
        request_id = row["service_request_id"]
        assert row["account_id"] is None
    else:
        root = xml(response)
        assert root.tag == "service_requests"
        [request] = root.findall("request")
        assert [c.tag for c in request] == ["service_request_id", "service_notice", "account_id"]
        request_id = request.findtext("service_request_id")
    assert "token" not in response.content.decode()  # realtime: the id, never a token as well

    appeal = Appeal.objects.get(pk=int(request_id))
    # The public id is the primary key, never the resident's secret tracking code.
    assert request_id == str(appeal.pk) and appeal.tracking_code not in response.content.decode()
    assert appeal.source == Source.OPEN311
    assert appeal.building == o311.city.building_a1
    assert appeal.category == o311.garbage
    assert appeal.name == "王建国" and appeal.phone == "13812345678"
    # The same automatic dispatch and events as the web form.
    assert appeal.state == AppealState.DISPATCHED and appeal.handling_grid == o311.city.grid_a1
    assert [e.action for e in appeal.events.all()] == [AppealAction.RECEIVE, AppealAction.DISPATCH]
    assert appeal.events.first().data["source"] == Source.OPEN311
    details = Open311Request.objects.get(appeal=appeal)
    assert details.api_key == o311.key and details.email == "wangjg@example.com"
    # ... and the tracking code goes to the resident by SMS, as from the web form.
    assert len(sms_outbox) == 1 and appeal.tracking_code in sms_outbox[0].message
    o311.key.refresh_from_db()
    assert o311.key.last_used_at is not None


def test_latin_names_keep_their_order(post_request):
    appeal = _appeal(post_request(first_name="John", last_name="Smith"))
    assert appeal.name == "John Smith"


def test_description_is_optional(post_request, o311):
    appeal = _appeal(post_request(description=""))
    assert appeal.description == o311.garbage.name


def test_description_longer_than_4000_is_refused(post_request):
    response = post_request(description="x" * 4001)
    assert response.status_code == 400
    assert "4000" in errors_of(response, "json")[0][1]


def test_phone_is_optional_as_the_spec_says(post_request, o311, sms_outbox, django_capture_on_commit_callbacks):
    # GeoReport v2 makes `phone` optional: the request is filed and dispatched as any
    # other; without a mobile no SMS can go out.
    with django_capture_on_commit_callbacks(execute=True):
        response = post_request(phone="")
    assert response.status_code == 200
    appeal = _appeal(response)
    assert appeal.phone == "" and appeal.source == Source.OPEN311
    assert appeal.state == AppealState.DISPATCHED and appeal.handling_grid == o311.city.grid_a1
    assert [e.action for e in appeal.events.all()] == [AppealAction.RECEIVE, AppealAction.DISPATCH]
    assert sms_outbox == []


def test_a_landline_is_accepted_without_an_sms(post_request, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_request(phone="01084001234")
    assert response.status_code == 200
    assert _appeal(response).phone == "010-84001234"
    assert sms_outbox == []


def test_a_bad_phone_is_400(post_request):
    response = post_request("xml", phone="111111111")
    assert response.status_code == 400
    assert "手机号" in errors_of(response, "xml")[0][1]


# --- keys ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("api_key", [None, "", "not-a-key"])
def test_missing_or_bad_key_is_403(post_request, fmt, api_key):
    response = post_request(fmt, api_key=api_key)
    assert response.status_code == 403
    [(code, description)] = errors_of(response, fmt)
    assert code == 403 and "api_key" in description
    assert not Appeal.objects.exists()


def test_revoked_key_is_403(post_request, o311):
    o311.key.revoke()
    response = post_request()
    assert response.status_code == 403
    assert "吊销" in errors_of(response, "json")[0][1]


def test_get_endpoints_need_no_key(client, o311):
    for path in ("services.json", "requests.json", f"services/{o311.garbage.code}.xml"):
        assert client.get(f"{BASE}/{path}").status_code == 200


def test_post_needs_no_csrf_token(o311):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(f"{BASE}/requests.json", {
        "api_key": o311.raw_key, "service_code": o311.garbage.code,
        "address_id": o311.city.building_a1.code, "phone": "13812345678",
    })
    assert response.status_code == 200


# --- service_code ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_code_is_404(post_request, fmt):
    response = post_request(fmt, service_code="99999")
    assert response.status_code == 404
    assert "99999" in errors_of(response, fmt)[0][1]


def test_missing_service_code_is_400(post_request):
    response = post_request(service_code="")
    assert response.status_code == 400
    assert "service_code" in errors_of(response, "json")[0][1]


# --- locations ------------------------------------------------------------------------


def test_lat_long_inside_a_grids_boundary_routes_there_before_any_building(post_request, o311):
    from tests.maps import import_city_boundaries

    import_city_boundaries()  # grid A2 is 116.325–116.35 × 39.90–40.00
    appeal = _appeal(post_request(address_id="", lat="39.93", long="116.34"))
    assert (appeal.building, appeal.grid, appeal.handling_grid) == (None, o311.city.grid_a2, o311.city.grid_a2)
    assert appeal.reported_point == "39.93, 116.34"
    # Outside every boundary and 300 m of any building: 400, as before.
    response = post_request(address_id="", lat="31.23", long="121.47")
    assert response.status_code == 400
    assert "不在任何网格边界内，300 米范围内也没有已登记的楼栋" in errors_of(response, "json")[0][1]



def test_lat_long_picks_the_nearest_building(post_request, o311):
    near_a1 = _appeal(post_request(address_id="", lat="39.930200", long="116.410100"))
    assert near_a1.building == o311.city.building_a1
    near_a2 = _appeal(post_request(address_id="", lat="39.931200", long="116.410100"))
    assert near_a2.building == o311.city.building_a2
    assert near_a2.handling_grid == o311.city.grid_a2  # the place drives the dispatch


def test_lat_long_within_300_m_resolves(post_request, o311):
    # 250 m south of 和平里1号楼.
    appeal = _appeal(post_request(address_id="", lat="39.927752", long="116.410000"))
    assert appeal.building == o311.city.building_a1


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_lat_long_500_m_from_any_building_is_400(post_request, fmt):
    response = post_request(fmt, address_id="", lat="39.925500", long="116.410000")
    assert response.status_code == 400
    [(code, description)] = errors_of(response, fmt)
    assert code == 400 and "lat/long" in description and "300 米" in description
    assert not Appeal.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"lat": "39.93"}, "lat 和 long 须同时提供"),
        ({"lat": "91", "long": "116.41"}, "WGS-84"),
        ({"lat": "north", "long": "east"}, "WGS-84"),
        ({}, "请提供位置"),
    ],
)
def test_bad_or_missing_location_is_400(post_request, fields, message):
    response = post_request(address_id="", **fields)
    assert response.status_code == 400
    assert message in errors_of(response, "json")[0][1]


@pytest.mark.parametrize(
    ("text", "building"),
    [
        ("和平里2号楼", "building_a2"),
        ("北京市东城区和平里2号楼", "building_a2"),
        ("和平里1号楼, 和平里小区, 东城区", "building_a1"),
        ("和平里1号楼", "building_a1"),  # not 和平里10号楼
        ("安定门3号", "building_b1"),
    ],
)
def test_address_string_matches_a_building_address(post_request, o311, text, building):
    appeal = _appeal(post_request(address_id="", address_string=text))
    assert appeal.building == getattr(o311.city, building)


def test_address_id_is_a_building_code_and_wins_over_the_rest(post_request, o311):
    appeal = _appeal(post_request(address_id=o311.city.building_c1.code, address_string="和平里2号楼"))
    assert appeal.building == o311.city.building_c1


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unresolved_locations_are_each_named(post_request, fmt):
    response = post_request(fmt, address_id="1101010010010019999", lat="39.925500", long="116.410000",
                            address_string="火星基地")
    assert response.status_code == 400
    descriptions = [d for _c, d in errors_of(response, fmt)]
    assert len(descriptions) == 3
    assert "address_id" in descriptions[0] and "lat/long" in descriptions[1] and "火星基地" in descriptions[2]


def test_an_unresolved_address_id_falls_back_to_the_other_location(post_request, o311):
    appeal = _appeal(post_request(address_id="1101010010010019999", address_string="和平里2号楼"))
    assert appeal.building == o311.city.building_a2


def test_bounding_box_query_uses_the_latlong_columns(o311, django_assert_max_num_queries):
    from appeals.open311.locations import nearest_building

    with django_assert_max_num_queries(1) as ctx:
        assert nearest_building(lat=39.9302, lon=116.4101) == o311.city.building_a1
    sql = ctx.captured_queries[0]["sql"]
    assert '"latitude" >=' in sql and '"longitude" <=' in sql


# --- media_url, email, attributes -------------------------------------------------------


def test_media_url_and_attributes_are_stored(post_request, o311):
    ServiceAttribute.objects.create(
        category=o311.garbage, code="WHEN", description="什么时候开始堆放的？", datatype=AttributeType.SINGLE,
        required=True, values=[{"key": "day", "name": "今天"}, {"key": "week", "name": "一周以上"}],
    )
    ServiceAttribute.objects.create(
        category=o311.garbage, code="KIND", order=2, description="垃圾种类", datatype=AttributeType.MULTI,
        values=[{"key": "food", "name": "厨余"}, {"key": "bulky", "name": "大件"}],
    )
    fields = {"media_url": "https://img.example.com/p/1.jpg", "attribute[WHEN]": "week",
              "attribute[KIND][]": ["food", "bulky"], "attribute[EXTRA]": "楼道口"}
    appeal = _appeal(post_request(**fields))
    details = appeal.open311
    assert details.media_url == "https://img.example.com/p/1.jpg"
    assert details.attributes == {"WHEN": "week", "KIND": ["food", "bulky"], "EXTRA": "楼道口"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "attribute[WHEN]"),
        ({"attribute[WHEN]": "year"}, "不在可选范围内"),
        ({"attribute[WHEN]": "day", "media_url": "ftp://example.com/x"}, "media_url"),
        ({"attribute[WHEN]": "day", "email": "not-an-email"}, "email"),
    ],
)
def test_bad_attributes_media_url_or_email_are_400(post_request, o311, fields, message):
    ServiceAttribute.objects.create(
        category=o311.garbage, code="WHEN", description="什么时候开始堆放的？", datatype=AttributeType.SINGLE,
        required=True, values=[{"key": "day", "name": "今天"}],
    )
    response = post_request(**fields)
    assert response.status_code == 400
    assert message in errors_of(response, "json")[0][1]
    assert not Appeal.objects.exists()


# --- rate limits ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_rate_limit_per_key(post_request, o311, settings, fmt):
    from appeals.open311.models import ApiKey

    settings.OPEN311_RATE_PER_KEY = "2/hour"
    assert post_request(fmt, phone="13800000001").status_code == 200
    assert post_request(fmt, phone="13800000002").status_code == 200
    response = post_request(fmt, phone="13800000003")
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    [(code, description)] = errors_of(response, fmt)
    assert code == 429 and "api_key" in description
    # Another client's key has its own budget.
    _other, raw = ApiKey.issue(name="另一个应用")
    assert post_request(fmt, api_key=raw, phone="13800000004").status_code == 200
    assert Appeal.objects.count() == 3


def test_the_per_phone_intake_limit_applies_too(post_request, settings):
    settings.APPEAL_INTAKE_RATE_PER_PHONE = "1/day"
    assert post_request().status_code == 200
    response = post_request()
    assert response.status_code == 429
    assert "手机号" in errors_of(response, "json")[0][1]
