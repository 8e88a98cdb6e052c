import datetime as dt
import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.volunteers.conftest import sign_up_and_start
from volunteers import services
from volunteers.models import Activity, Signup


@pytest.fixture
def api():
    def _api(user):
        client = APIClient()
        client.force_authenticate(user)
        return client
    return _api


def test_volunteer_signs_up_checks_in_and_sees_hours_and_points(vol, api):
    client = api(vol.users.volunteer)
    listing = client.get("/api/v1/volunteers/activities/")
    assert [a["id"] for a in listing.json()["results"]] == [vol.activity.pk]
    assert "checkin_code" not in listing.json()["results"][0]
    assert client.post(f"/api/v1/volunteers/activities/{vol.activity.pk}/signup/").status_code == 201
    again = client.post(f"/api/v1/volunteers/activities/{vol.activity.pk}/signup/")
    assert again.status_code == 409 and again.json()["code"] == "conflict"

    activity = Activity.objects.get(pk=vol.activity.pk)
    Activity.objects.filter(pk=activity.pk).update(starts_at=activity.starts_at - dt.timedelta(days=1, hours=2),
                                                   ends_at=activity.ends_at - dt.timedelta(days=1, hours=2))
    wrong = client.post(f"/api/v1/volunteers/activities/{activity.pk}/check/", {"code": "12345x", "direction": "in"})
    assert wrong.status_code == 400
    ok = client.post(f"/api/v1/volunteers/activities/{activity.pk}/check/", {"code": activity.checkin_code, "direction": "in"})
    assert ok.status_code == 200 and ok.json()["status"] == "checked_in"

    organiser = api(vol.users.community_worker)
    signup = Signup.objects.get(volunteer=vol.v)
    started = Activity.objects.get(pk=activity.pk).starts_at
    Signup.objects.filter(pk=signup.pk).update(checked_in_at=started)
    out = organiser.post(f"/api/v1/volunteers/activities/{activity.pk}/signups/{signup.pk}/check-out/", {}, format="json")
    assert out.status_code == 200 and float(out.json()["hours_credited"]) >= 1.99

    me = client.get("/api/v1/volunteers/me/").json()
    assert me["points_balance"] == 2 and float(me["hours_year"]) >= 1.99
    points = client.get("/api/v1/volunteers/me/points/").json()["results"]
    assert points[0]["delta"] == 2 and points[0]["activity"] == activity.pk


def test_qr_token_check_in_via_api(vol, api):
    activity = sign_up_and_start(vol.activity, vol.v)
    token = services.checkin_token_make(activity=activity, direction="in")
    response = api(vol.users.volunteer).post("/api/v1/volunteers/check/qr/", {"token": token})
    assert response.status_code == 200 and response.json()["status"] == "checked_in"
    bad = api(vol.users.volunteer).post("/api/v1/volunteers/check/qr/", {"token": "nope"})
    assert bad.status_code == 400 and "无效" in bad.json()["detail"]


@pytest.mark.parametrize("who", ["other_volunteer", "outsider"])
def test_outside_the_community_api_is_404_and_staff_may_not_redeem(vol, api, who):
    client = api(vol.other_user if who == "other_volunteer" else vol.users.outsider)
    pk = vol.activity.pk
    assert client.get(f"/api/v1/volunteers/activities/{pk}/").status_code == 404
    assert client.post(f"/api/v1/volunteers/activities/{pk}/signup/").status_code == 404
    assert client.get(f"/api/v1/volunteers/activities/{pk}/signups/").status_code == 404
    # Redeeming is a volunteer's own action: another community's volunteer does not see the
    # reward (404); a staff account may not redeem at all (403, with the reason).
    redeem = client.post(f"/api/v1/volunteers/rewards/{vol.reward.pk}/redeem/")
    if who == "other_volunteer":
        assert redeem.status_code == 404
    else:
        assert redeem.status_code == 403 and "仅限已登记的志愿者" in redeem.json()["detail"]
    assert pk not in [a["id"] for a in client.get("/api/v1/volunteers/activities/").json()["results"]]
    # The overview is the staff's: another community's volunteer is told so (403); a staff
    # account of another community does not see the community named (404).
    overview = client.get("/api/v1/volunteers/overview/volunteers/", {"community": vol.comm_a.code})
    assert overview.status_code == (403 if who == "other_volunteer" else 404)


def test_worker_creates_activity_and_sees_the_overview(vol, api):
    client = api(vol.users.community_worker)
    created = client.post("/api/v1/volunteers/activities/", {
        "community": vol.comm_a.code, "title": "义诊", "place": "卫生站",
        "starts_at": "2099-05-01T09:00:00+08:00", "ends_at": "2099-05-01T11:00:00+08:00", "capacity_max": 5,
    }, format="json")
    assert created.status_code == 201 and len(created.json()["checkin_code"]) == 6
    elsewhere = client.post("/api/v1/volunteers/activities/", {
        "community": vol.comm_c.code, "title": "义诊", "place": "卫生站",
        "starts_at": "2099-05-01T09:00:00+08:00", "ends_at": "2099-05-01T11:00:00+08:00", "capacity_max": 5,
    }, format="json")
    assert elsewhere.status_code == 404
    names = [v["name"] for v in client.get("/api/v1/volunteers/overview/volunteers/").json()["results"]]
    assert set(names) == {"周敏", "李秀英"}
    services.paired_organization_register(community=vol.comm_a, name="区税务局党支部")
    orgs = client.get("/api/v1/volunteers/overview/organizations/").json()["results"]
    assert orgs[0]["name"] == "区税务局党支部" and orgs[0]["members"] == 0
    assert client.get("/api/v1/volunteers/overview/party-members/").status_code == 200


def test_volunteer_may_not_check_others_in(vol, api):
    services.signup_create(activity=vol.activity, volunteer=vol.v2)
    signup = Signup.objects.get(volunteer=vol.v2)
    response = api(vol.users.volunteer).post(
        f"/api/v1/volunteers/activities/{vol.activity.pk}/signups/{signup.pk}/check-in/", {}, format="json")
    assert response.status_code == 403 and "组织者" in response.json()["detail"]


def test_redeem_via_api(vol, api):
    services.points_adjust(volunteer=vol.v, delta=12, note="结转", actor=vol.users.community_worker)
    client = api(vol.users.volunteer)
    assert client.get("/api/v1/volunteers/rewards/").json()["results"][0]["name"] == "洗衣液"
    response = client.post(f"/api/v1/volunteers/rewards/{vol.reward.pk}/redeem/")
    assert response.status_code == 201 and response.json()["points_balance"] == 2
    response = client.post(f"/api/v1/volunteers/rewards/{vol.reward.pk}/redeem/")
    assert response.status_code == 409


def test_openapi_schema_is_valid_without_warnings(settings):
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "/api/v1/volunteers/rewards/{id}/redeem/" in out.getvalue()
