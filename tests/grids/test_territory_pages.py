"""Territory pages: an insider sees, an outsider gets 404, a read-only role gets 403."""

import pytest
from django.urls import reverse

from governance.models import AccessLog
from grids.enums import HouseholdStatus
from grids.models import HouseholdChange
from tests.factories import BuildingFactory, HouseholdFactory, ResidentFactory

pytestmark = pytest.mark.django_db


def unit_urls(c):
    return {
        "district": reverse("district-detail", args=[c.dongcheng.code]),
        "street": reverse("street-detail", args=[c.street_a.code]),
        "community": reverse("community-detail", args=[c.comm_a.code]),
        "grid": reverse("grid-detail", args=[c.grid_a1.code]),
        "building": reverse("building-detail", args=[c.building_a1.code]),
        "household": reverse("household-detail", args=[c.household_a1.pk]),
        "household_edit": reverse("household-edit", args=[c.household_a1.pk]),
    }


# (user, page) → expected status
VISIBILITY = [
    ("community_worker", "district", 404),
    ("community_worker", "street", 404),
    ("community_worker", "community", 200),
    ("community_worker", "grid", 200),
    ("community_worker", "building", 200),
    ("community_worker", "household", 200),
    ("grid_worker", "community", 404),
    ("grid_worker", "grid", 200),
    ("grid_worker", "household", 200),
    ("grid_worker2", "grid", 404),
    ("grid_worker2", "household", 404),
    ("outsider", "community", 404),
    ("outsider", "grid", 404),
    ("outsider", "building", 404),
    ("outsider", "household", 404),
    ("outsider", "household_edit", 404),
    ("street_officer", "district", 404),
    ("street_officer", "street", 200),
    ("street_officer", "household", 200),
    ("supervisor", "district", 200),
    ("supervisor", "household", 200),
    ("district_supervisor", "district", 200),
    ("department_handler", "community", 404),
    ("volunteer", "community", 404),
]


@pytest.mark.parametrize(("username", "page", "status"), VISIBILITY)
def test_territory_visibility(city, login, username, page, status):
    client = login(getattr(city.users, username))
    assert client.get(unit_urls(city)[page]).status_code == status


def test_anonymous_is_sent_to_login(city, client):
    response = client.get(unit_urls(city)["community"])
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_other_district_is_404_for_district_supervisor(city, login):
    client = login(city.users.district_supervisor)
    assert client.get(reverse("district-detail", args=[city.xicheng.code])).status_code == 404


@pytest.mark.parametrize("username", ["supervisor", "street_officer"])
def test_read_only_roles_get_403_with_reason_on_edit(city, login, username):
    client = login(getattr(city.users, username))
    response = client.get(unit_urls(city)["household_edit"])
    assert response.status_code == 403
    text = response.content.decode()
    assert "只读" in text or "只有本社区" in text


def test_community_page_lists_only_its_grids(city, login):
    client = login(city.users.community_worker)
    body = client.get(unit_urls(city)["community"]).content.decode()
    assert city.grid_a1.code in body and city.grid_a2.code in body
    assert city.grid_b1.code not in body


def test_search_finds_by_name_phone_and_address_and_masks_phones(city, login):
    client = login(city.users.community_worker)
    url = unit_urls(city)["community"]
    by_name = client.get(url, {"q": "王建国"}).content.decode()
    assert "101" in by_name and "138****5678" in by_name and "13812345678" not in by_name
    by_phone = client.get(url, {"q": "5678"}).content.decode()
    assert "王建国" in by_phone
    by_address = client.get(url, {"q": "和平里2号楼"}).content.decode()
    assert "李秀英" in by_address and "王建国" not in by_address
    # A resident of another community is not found from here.
    other = client.get(url, {"q": "钱伟"}).content.decode()
    assert "没有符合条件的住户" in other and "交道口" not in other


def test_household_view_is_logged(city, login):
    client = login(city.users.community_worker)
    client.get(unit_urls(city)["household"])
    log = AccessLog.objects.get()
    assert log.user == city.users.community_worker
    assert log.action == "view" and log.subject == f"household:{city.household_a1.pk}"


def test_grid_worker_edits_household_and_history_is_kept(city, login):
    client = login(city.users.grid_worker)
    response = client.post(unit_urls(city)["household_edit"], {
        "unit": "1", "room": "101", "contact_name": "王建国", "phone": "010-66881234",
        "care_tags": ["elderly_alone", "subsistence"],
    })
    assert response.status_code == 302
    city.household_a1.refresh_from_db()
    assert city.household_a1.phone == "010-66881234"
    change = HouseholdChange.objects.get(household=city.household_a1, action="update")
    assert change.changes["phone"] == ["13812345678", "010-66881234"]
    assert change.changes["care_tags"] == ["elderly_alone", "elderly_alone,subsistence"]
    assert change.actor == city.users.grid_worker
    page = client.get(unit_urls(city)["household"]).content.decode()
    assert "010-66881234" in page and "修改" in page


def test_bad_phone_is_refused_with_a_message(city, login):
    client = login(city.users.community_worker)
    response = client.post(unit_urls(city)["household_edit"], {"room": "101", "phone": "12345"})
    assert response.status_code == 200
    assert "无效" in response.content.decode()
    city.household_a1.refresh_from_db()
    assert city.household_a1.phone == "13812345678"


def test_move_out_needs_confirmation_keeps_record_and_history(city, login):
    client = login(city.users.community_worker)
    url = reverse("household-move-out", args=[city.household_a1.pk])
    unconfirmed = client.post(url, {"moved_out_on": "2026-11-01"})
    assert unconfirmed.status_code == 200
    city.household_a1.refresh_from_db()
    assert city.household_a1.status == HouseholdStatus.ACTIVE
    assert client.post(url, {"moved_out_on": "2026-11-01", "confirm": "on", "note": "搬往外区"}).status_code == 302
    city.household_a1.refresh_from_db()
    assert city.household_a1.status == HouseholdStatus.MOVED_OUT
    assert HouseholdChange.objects.filter(household=city.household_a1, action="move_out").exists()
    # No longer listed among active households, but still reachable with its history.
    building_page = client.get(unit_urls(city)["building"]).content.decode()
    assert reverse("household-detail", args=[city.household_a1.pk]) not in building_page
    assert "搬往外区" in client.get(unit_urls(city)["household"]).content.decode()
    # A moved-out household can no longer be edited.
    again = client.post(unit_urls(city)["household_edit"], {"room": "101", "phone": ""})
    assert again.status_code == 409


def test_resident_add_and_remove_are_in_history(city, login):
    client = login(city.users.community_worker)
    hh = city.household_a1
    assert client.post(reverse("resident-create", args=[hh.pk]), {"name": "王小明", "relation": "子", "birth_year": "2010"}).status_code == 302
    resident = hh.residents.get(name="王小明")
    assert client.post(reverse("resident-remove", args=[hh.pk, resident.pk]), {"note": "登记有误"}).status_code == 302
    actions = list(HouseholdChange.objects.filter(household=hh).values_list("action", flat=True))
    assert set(actions) == {"add_resident", "remove_resident"}


def test_building_page_queries_are_bounded(city, login, django_assert_max_num_queries):
    for _ in range(60):
        hh = HouseholdFactory(building=city.building_a1)
        ResidentFactory(household=hh)
        ResidentFactory(household=hh)
    client = login(city.users.community_worker)
    with django_assert_max_num_queries(12):
        response = client.get(unit_urls(city)["building"])
    assert response.status_code == 200


def test_grid_page_queries_are_bounded(city, login, django_assert_max_num_queries):
    for _ in range(50):
        b = BuildingFactory(grid=city.grid_a1)
        HouseholdFactory(building=b)
    client = login(city.users.community_worker)
    with django_assert_max_num_queries(12):
        response = client.get(unit_urls(city)["grid"])
    assert response.status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(unit_urls(city)["grid"], {"q": "和平里"}).status_code == 200


def test_removing_a_resident_who_is_a_volunteer(city, login):
    """Without an account the volunteer would be neither a resident nor an account: the
    removal is refused with what to do (409), nothing changes. With an account, the
    volunteer keeps the account and is detached from the resident."""
    from volunteers import services as volunteer_services
    from volunteers.models import Volunteer

    client = login(city.users.community_worker)
    hh = city.household_a1
    resident = ResidentFactory(household=hh, name="李秀英")
    volunteer = volunteer_services.volunteer_register(community=city.comm_a, resident=resident)
    response = client.post(reverse("resident-remove", args=[hh.pk, resident.pk]), {"note": "搬走"})
    assert response.status_code == 409
    assert "登记为志愿者且没有登录账号" in response.content.decode()
    assert hh.residents.filter(pk=resident.pk).exists()
    assert not HouseholdChange.objects.filter(household=hh, action="remove_resident").exists()

    Volunteer.objects.filter(pk=volunteer.pk).update(user=city.users.volunteer)
    assert client.post(reverse("resident-remove", args=[hh.pk, resident.pk]), {"note": "搬走"}).status_code == 302
    volunteer.refresh_from_db()
    assert (volunteer.user, volunteer.resident) == (city.users.volunteer, None)
