"""入户走访 and 民主协商 in the staff API: the pages' selectors and services, so the API answers
each role as the pages do (care records for the grid's and the community's staff, 404
outside the jurisdiction, 403 inside it for those who see figures only), and every view of
a care record is access-logged."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from appeals.deliberation import services as meeting_services
from appeals.models import Visit
from appeals.visits import services
from appeals.visits.enums import VisitMethod
from governance.models import AccessLog

pytestmark = pytest.mark.django_db
ROLES = ("grid_worker", "grid_worker2", "community_worker", "outsider", "street_officer", "district_supervisor",
         "supervisor", "department_handler", "volunteer")


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def visit(city):
    return services.visit_record(actor=city.users.grid_worker, household=city.household_a1, method=VisitMethod.HOME,
                                 notes="老人身体尚可", checklist={"健康状况": "concern"})


@pytest.mark.parametrize("role", ROLES)
def test_the_api_answers_each_role_as_the_pages_do(city, login, visit, role):
    user = getattr(city.users, role)
    page, api = login(user), _api(user)
    pairs = [
        (reverse("visits:list"), reverse("api-visit-plans")),
        (reverse("visits:list"), reverse("api-visits")),
        (reverse("visits:household", args=[city.household_a1.pk]),
         reverse("api-visit-household", args=[city.household_a1.pk])),
        (reverse("visits:detail", args=[visit.pk]), reverse("api-visit", args=[visit.pk])),
    ]
    sees = page.get(reverse("visits:detail", args=[visit.pk])).status_code == 200
    for page_url, api_url in pairs:
        want = page.get(page_url).status_code
        got = api.get(api_url)
        assert got.status_code == want, (role, api_url)
        if api_url != reverse("api-visit-plans"):  # the plans carry no notes
            assert ("老人身体尚可" in got.content.decode()) is sees, (role, api_url)
    record = api.post(reverse("api-visit-record", args=[city.household_a1.pk]), {"method": "home"}, format="json")
    want = page.get(reverse("visits:record", args=[city.household_a1.pk])).status_code
    assert record.status_code == (201 if want == 200 else want), role


def test_the_grid_worker_reads_the_plans_and_the_visits(city, visit):
    api = _api(city.users.grid_worker)
    rows = api.get(reverse("api-visit-plans")).json()
    row = next(r for r in rows if r["household"]["id"] == city.household_a1.pk)
    assert row["household"]["care_tags"] == ["elderly_alone"] and row["household"]["care_tag_labels"] == ["独居老人"]
    assert row["plan"]["period"] == "week" and row["status"] == "done" and row["status_label"] == "本期已访"
    assert row["last_done"] == timezone.localdate().isoformat()
    listed = api.get(reverse("api-visits")).json()
    assert [v["id"] for v in listed["results"]] == [visit.pk] and listed["count"] == 1
    detail = api.get(reverse("api-visit", args=[visit.pk])).json()
    assert detail["checklist"] == {"健康状况": "concern"} and detail["method_label"] == "在家"
    assert detail["notes"] == "老人身体尚可" and detail["appeals"] == [] and detail["photo_count"] == 0
    household = api.get(reverse("api-visit-household", args=[city.household_a1.pk])).json()
    assert [v["id"] for v in household["visits"]] == [visit.pk] and household["plan"]["period_label"] == "每周"
    subjects = set(AccessLog.objects.filter(user=city.users.grid_worker).values_list("subject", flat=True))
    assert {"visits:list", "visits:records", f"visit:{visit.pk}", f"visits:household:{city.household_a1.pk}"} <= subjects


def test_a_neighbour_grid_and_another_street_see_no_visit(city, visit):
    for user in (city.users.grid_worker2, city.users.outsider):
        api = _api(user)
        assert api.get(reverse("api-visit", args=[visit.pk])).status_code == 404
        assert api.get(reverse("api-visit-household", args=[city.household_a1.pk])).status_code == 404
        assert api.post(reverse("api-visit-record", args=[city.household_a1.pk]), {"method": "home"},
                        format="json").status_code == 404
        assert visit.pk not in [v["id"] for v in api.get(reverse("api-visits")).json()["results"]]
        assert city.household_a1.pk not in [r["household"]["id"] for r in api.get(reverse("api-visit-plans")).json()]
    assert Visit.objects.count() == 1


def test_recording_through_the_api_is_the_pages_service(city):
    api = _api(city.users.community_worker)
    url = reverse("api-visit-record", args=[city.household_a1.pk])
    bad = api.post(url, {"method": "teleport"}, format="json")
    assert bad.status_code == 400 and "走访方式" in bad.json()["method"][0]
    wrong_item = api.post(url, {"method": "home", "checklist": {"天气": "good"}}, format="json")
    assert wrong_item.status_code == 400 and "天气" in wrong_item.json()["detail"]
    made = api.post(url, {"method": "phone", "notes": "电话问候", "companions": "楼栋长"}, format="json")
    assert made.status_code == 201, made.content
    visit = Visit.objects.get(pk=made.json()["id"])
    assert (visit.visitor, visit.method, visit.counts_done, visit.notes) == (
        city.users.community_worker, VisitMethod.PHONE, False, "电话问候")  # 独居老人: a phone call does not count
    assert abs(visit.visited_at - timezone.now()) < timedelta(minutes=1)  # the server's time


def test_the_schema_documents_the_visit_and_meeting_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in ("/api/v1/visits/", "/api/v1/visits/plans/", "/api/v1/visits/households/{id}/",
                 "/api/v1/visits/households/{id}/visits/", "/api/v1/visits/{id}/", "/api/v1/meetings/",
                 "/api/v1/meetings/{id}/", "/api/v1/meeting-decisions/", "/api/v1/meeting-decisions/{id}/",
                 "/api/v1/appeals/{tracking_code}/phone/"):
        assert path in paths, path


# --- 民主协商 ------------------------------------------------------------------------------------


@pytest.fixture
def meeting(city):
    now = timezone.now()
    meeting = meeting_services.meeting_schedule(actor=city.users.community_worker, community_code=city.comm_a.code,
                                                kind="hearing", topic="停车难", place="议事厅", starts_at=now)
    meeting_services.meeting_record(actor=city.users.community_worker, meeting=meeting, residents_count=12,
                                    minutes="纪要：增设车位")
    meeting.decision = meeting_services.decision_add(
        actor=city.users.community_worker, meeting=meeting, kind="decision", text="施划车位", owner="物业",
        due_date=now.date() + timedelta(days=30))
    return meeting


@pytest.mark.parametrize("role", ROLES)
def test_meetings_answer_each_role_as_the_page_does(city, login, meeting, role):
    user = getattr(city.users, role)
    page, api = login(user), _api(user)
    want_list = page.get(reverse("deliberation:list")).status_code
    want_one = page.get(reverse("deliberation:detail", args=[meeting.pk])).status_code
    assert api.get(reverse("api-meetings")).status_code == want_list
    assert api.get(reverse("api-meeting-decisions")).status_code == want_list
    assert api.get(reverse("api-meeting", args=[meeting.pk])).status_code == want_one
    assert api.get(reverse("api-meeting-decision", args=[meeting.decision.pk])).status_code == want_one
    if want_list == 200:
        listed = [m["id"] for m in api.get(reverse("api-meetings")).json()["results"]]
        decisions = [d["id"] for d in api.get(reverse("api-meeting-decisions")).json()["results"]]
        assert (meeting.pk in listed) is (want_one == 200) is (meeting.decision.pk in decisions)


def test_a_meeting_in_the_api(city, meeting):
    body = _api(city.users.street_officer).get(reverse("api-meeting", args=[meeting.pk])).json()
    assert body["kind_label"] == "民意听证会" and body["minutes"] == "纪要：增设车位" and body["residents_count"] == 12
    assert [d["text"] for d in body["decisions"]] == ["施划车位"] and body["decisions"][0]["state_label"] == "待落实"
    row = _api(city.users.community_worker).get(reverse("api-meetings")).json()["results"][0]
    assert (row["id"], row["open_decision_count"], row["appeal_count"]) == (meeting.pk, 1, 0)
    decision = _api(city.users.community_worker).get(reverse("api-meeting-decision", args=[meeting.decision.pk]))
    assert decision.json()["meeting_topic"] == "停车难" and decision.json()["community"] == city.comm_a.code
    assert _api(city.users.outsider).get(reverse("api-meeting", args=[meeting.pk])).status_code == 404
    assert _api(city.users.supervisor).get(reverse("api-meeting", args=[meeting.pk])).status_code == 403


def test_a_visit_recorded_with_a_photo_and_the_photo_served_to_those_who_see_it(city):
    from tests.helpers import jpeg

    api = _api(city.users.grid_worker)
    made = api.post(reverse("api-visit-record", args=[city.household_a1.pk]),
                    {"method": "home", "notes": "屋内整洁", "photos": [jpeg()]}, format="multipart")
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["photo_count"] == 1 and body["cleared"] is False
    photo = api.get(reverse("api-visit-photo", args=[body["id"], 0]))
    assert photo.status_code == 200 and photo["Cache-Control"] == "private, max-age=3600"
    assert b"".join(photo.streaming_content)[:2] == b"\xff\xd8"  # cleaned and stored as a JPEG
    assert api.get(reverse("api-visit-photo", args=[body["id"], 1])).status_code == 404
    assert _api(city.users.street_officer).get(reverse("api-visit-photo", args=[body["id"], 0])).status_code == 403
    assert _api(city.users.outsider).get(reverse("api-visit-photo", args=[body["id"], 0])).status_code == 404
