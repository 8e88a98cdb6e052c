"""Every query parameter goes through one parsing layer with bounds (governance.kernel.params):
a NUL byte, a huge number or an impossible date is a 400 that names the parameter and
says what to fix — never a 500.

The table holds the inputs a probe of main found answering 500 on PostgreSQL (marked
``main 500``: every view and API with a q/page/period/year/min_days/max_days/start_date/
service_code-like parameter, each role that reaches it), plus a few that main answered
with a silent default. On SQLite main answered most of them 200, so each row fails there too.
"""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

NUL = "\x00"
HUGE = "99999999999999999999"
C = "110101001001"  # 甲一社区
NUL_HINT = "空字符"
BOUND = "确保该值"  # Django's "确保该值小于或等于…" / "大于或等于…"
YEARS = "2000 年至 2100 年"

# (who, path, parameters, text the answer must hold besides the parameter's name)
CASES = [
    # --- public: no login (main 500 ×10) ---
    ("anonymous", "/places/streets/", {"q": NUL}, NUL_HINT),  # main 500
    ("anonymous", "/places/streets/", {"street_q": "a" + NUL}, NUL_HINT),  # main 500
    ("anonymous", "/places/streets/", {"street": NUL}, NUL_HINT),  # main 500
    ("anonymous", "/places/communities/", {"street": NUL}, NUL_HINT),  # main 500
    ("anonymous", "/places/buildings/", {"street": NUL}, NUL_HINT),  # main 500
    ("anonymous", "/places/buildings/", {"street": "110101001", "community": NUL}, NUL_HINT),  # main 500
    ("anonymous", "/submit/similar/", {"building": NUL, "category": "1"}, NUL_HINT),  # main 500
    ("anonymous", "/open311/v2/requests.json", {"service_code": NUL}, NUL_HINT),  # main 500
    ("anonymous", "/open311/v2/requests.xml", {"service_code": "01001," + NUL}, NUL_HINT),  # main 500
    ("anonymous", "/open311/v2/requests.json", {"start_date": "9999-12-31"}, YEARS),  # main 500
    ("anonymous", "/open311/v2/requests.json", {"end_date": "0001-01-01"}, YEARS),
    ("anonymous", "/track/", {"code": NUL}, NUL_HINT),
    # --- territory pages ---
    ("supervisor", "/territory/district/110101/", {"q": NUL}, NUL_HINT),  # main 500
    ("street_officer", "/territory/street/110101001/", {"q": NUL}, NUL_HINT),  # main 500
    ("community_worker", f"/territory/community/{C}/", {"q": NUL}, NUL_HINT),  # main 500
    ("grid_worker", "/territory/grid/110101001001001/", {"q": NUL}, NUL_HINT),  # main 500
    ("grid_worker", "/territory/building/1101010010010010001/", {"q": NUL}, NUL_HINT),  # main 500
    ("community_worker", f"/territory/community/{C}/", {"page": HUGE}, BOUND),
    # --- appeals pages ---
    ("community_worker", "/appeals/buildings/", {"bq": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/appeals/buildings/", {"bq": "和平里", "within": NUL}, NUL_HINT),
    ("community_worker", "/appeals/new/", {"bq": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/appeals/new/", {"building": NUL}, NUL_HINT),  # main 500 (the re-shown form)
    ("grid_worker", "/appeals/patrol/", {"bq": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/appeals/", {"q": NUL}, NUL_HINT),
    ("community_worker", "/appeals/", {"date_from": "0001-01-01"}, YEARS),
    ("community_worker", "/appeals/", {"cursor": "1" * 20}, "cursor"),  # a keyset page: no page number
    ("community_worker", "/notifications/", {"page": HUGE}, BOUND),
    # --- volunteers pages ---
    ("community_worker", "/volunteers/manage/", {"q": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/volunteers/manage/", {"status": "nope"}, ""),
    ("community_worker", "/volunteers/overview/", {"q": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/volunteers/overview/", {"community": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/volunteers/overview/", {"year": "99999999999"}, BOUND),
    ("community_worker", "/volunteers/overview/members/", {"q": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/volunteers/overview/members/", {"community": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/volunteers/overview/organizations/", {"q": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/volunteers/overview/organizations/", {"community": NUL}, NUL_HINT),  # main 500
    ("volunteer", "/volunteers/points/", {"page": HUGE}, BOUND),
    # --- report pages ---
    ("supervisor", "/reports/", {"page": HUGE}, BOUND),  # main 500
    ("supervisor", "/reports/", {"period": "0001-01"}, YEARS),  # main 500
    ("supervisor", "/reports/", {"period": "9999-12"}, YEARS),  # main 500
    ("supervisor", "/reports/", {"from": "0001-01-01", "to": "0001-01-31"}, YEARS),
    ("supervisor", "/reports/hotspots/", {"period": "9999-12"}, YEARS),  # main 500
    ("supervisor", "/reports/hotspots/", {"unit": NUL}, NUL_HINT),  # main 500
    ("supervisor", "/reports/staffing/", {"unit": NUL}, NUL_HINT),  # main 500
    ("supervisor", "/reports/supervision/", {"category": NUL}, NUL_HINT),  # main 500
    ("supervisor", "/reports/supervision/", {"min_days": HUGE}, BOUND),  # main 500
    ("supervisor", "/reports/supervision/", {"max_days": HUGE}, BOUND),  # main 500
    ("supervisor", "/reports/supervision/", {"page": HUGE}, BOUND),  # main 500
    ("supervisor", "/reports/supervision/", {"unit": NUL}, NUL_HINT),  # main 500
    ("street_officer", f"/reports/unit/community/{C}/", {"period": "0001-01"}, YEARS),  # main 500
    ("street_officer", f"/reports/unit/community/{C}/", {"period": "9999-12"}, YEARS),  # main 500
    # --- report API ---
    ("supervisor", "/api/v1/reports/hotspots/", {"period": "9999-12"}, YEARS),  # main 500
    ("supervisor", "/api/v1/reports/hotspots/", {"unit": NUL}, NUL_HINT),  # main 500
    ("supervisor", "/api/v1/reports/staffing/", {"unit": NUL}, NUL_HINT),  # main 500
    ("supervisor", "/api/v1/reports/supervision/", {"category": NUL}, NUL_HINT),  # main 500
    ("supervisor", "/api/v1/reports/supervision/", {"min_days": HUGE}, BOUND),  # main 500
    ("supervisor", "/api/v1/reports/supervision/", {"max_days": HUGE}, BOUND),  # main 500
    ("supervisor", "/api/v1/reports/supervision/", {"unit": NUL}, NUL_HINT),  # main 500
    ("supervisor", "/api/v1/reports/units/", {"parent": NUL}, NUL_HINT),  # main 500
    ("supervisor", "/api/v1/reports/units/", {"period": "0001-01"}, YEARS),  # main 500
    ("supervisor", "/api/v1/reports/units/", {"period": "9999-12"}, YEARS),  # main 500
    ("street_officer", f"/api/v1/reports/units/community/{C}/", {"period": "0001-01"}, YEARS),  # main 500
    ("street_officer", f"/api/v1/reports/units/community/{C}/", {"period": "9999-12"}, YEARS),  # main 500
    # --- volunteers API ---
    ("community_worker", "/api/v1/volunteers/activities/", {"q": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/api/v1/volunteers/activities/", {"status": NUL}, ""),  # main 500
    ("community_worker", "/api/v1/volunteers/overview/volunteers/", {"q": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/api/v1/volunteers/overview/volunteers/", {"community": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/api/v1/volunteers/overview/volunteers/", {"year": "99999999999"}, BOUND),  # main 500
    ("community_worker", "/api/v1/volunteers/overview/party-members/", {"q": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/api/v1/volunteers/overview/party-members/", {"community": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/api/v1/volunteers/overview/party-members/", {"year": "-" + HUGE}, BOUND),  # main 500
    ("community_worker", "/api/v1/volunteers/overview/organizations/", {"q": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/api/v1/volunteers/overview/organizations/", {"community": NUL}, NUL_HINT),  # main 500
    ("community_worker", "/api/v1/volunteers/overview/organizations/", {"year": HUGE}, BOUND),  # main 500
    ("volunteer", "/api/v1/volunteers/me/points/", {"page_size": HUGE}, BOUND),
    # --- appeals and territory API (django-filter FilterSets, and the pages of every list) ---
    ("community_worker", "/api/v1/appeals/", {"page": HUGE}, "页码最多为 100"),
    ("community_worker", "/api/v1/appeals/", {"search": NUL}, ""),
    ("community_worker", "/api/v1/households/", {"search": NUL}, ""),
    ("community_worker", "/api/v1/buildings/", {"page_size": "0"}, BOUND),
]


@pytest.mark.parametrize(("who", "path", "params", "hint"), CASES, ids=[
    f"{w}:{p}?{'&'.join(params)}={repr(list(params.values())[0])[:12]}" for w, p, params, _h in CASES])
def test_a_bad_query_parameter_is_a_400_that_says_what_to_fix(city, client, who, path, params, hint):
    if who != "anonymous":
        client.force_login(getattr(city.users, who))
    if who == "volunteer":
        from volunteers import services as volunteer_services

        volunteer_services.volunteer_register(community=city.comm_a, user=city.users.volunteer, name="周敏")
    response = client.get(path, params)
    assert response.status_code == 400, response.content[:300]
    body = response.content.decode()
    assert any(name in body for name in params), body[:400]
    assert hint in body, body[:400]


def test_good_values_still_work(city, client):
    """The bounds are generous: what a person or a client sends is read as before."""
    client.force_login(city.users.community_worker)
    for path, params in [
        (f"/territory/community/{C}/", {"q": "和平里", "page": "1"}),
        ("/appeals/", {"q": "138", "page": "2", "date_from": "2026-01-01", "overdue": "on"}),
        ("/appeals/buildings/", {"bq": "和平里", "within": C}),
        ("/volunteers/overview/", {"year": "2026", "community": C}),
        ("/api/v1/appeals/", {"page_size": "100", "search": "和平里"}),
        ("/open311/v2/requests.json", {"service_code": "01001,05001", "status": "open"}),
        (reverse("public:places-streets"), {"q": "甲", "format": "json"}),
    ]:
        assert client.get(path, params).status_code == 200, (path, params)
