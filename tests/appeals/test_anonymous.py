"""匿名 (issue 20 §3): when the resident asks for anonymity, handlers see a masked phone and
a "拨打/显示号码" reveal, each reveal written to the access log; nobody else can reveal."""

import pytest
from django.urls import reverse

from appeals import selectors
from governance.enums import AccessAction
from governance.kernel.errors import ActionForbidden
from governance.kernel.privacy import phone_for_handler
from governance.models import AccessLog
from tests.appeals.factories import grid_category, receive
from tests.helpers import detail_url

pytestmark = pytest.mark.django_db
PHONE = "13812345678"
MASKED = "138****5678"


def reveal_url(appeal) -> str:
    return reverse("appeals:phone-reveal", args=[appeal.tracking_code])


def test_the_masking_rule_lives_with_the_other_masks():
    assert phone_for_handler(PHONE, anonymous=True) == MASKED
    assert phone_for_handler(PHONE, anonymous=False) == PHONE


def test_a_handler_sees_the_masked_phone_and_a_logged_reveal(city, login):
    appeal = receive(city, category=grid_category(), phone=PHONE, anonymous=True, name="王建国")
    client = login(city.users.grid_worker)
    page = client.get(detail_url(appeal)).content.decode()
    assert MASKED in page and PHONE not in page and "王建国" not in page
    assert 'id="phone-reveal"' in page and "拨打/显示号码" in page
    assert not AccessLog.objects.exists(), "a masked view is not a view of personal data"

    revealed = client.post(reveal_url(appeal), HTTP_HX_REQUEST="true")
    assert revealed.status_code == 200
    assert f'<a href="tel:{PHONE}">{PHONE}</a>' in revealed.content.decode()
    entry = AccessLog.objects.get()
    assert (entry.user, entry.action, entry.subject) == (city.users.grid_worker, AccessAction.VIEW,
                                                         f"appeal:{appeal.tracking_code}:phone")
    assert entry.path == reveal_url(appeal) and entry.ip_address == "127.0.0.1"

    # Without JavaScript: the appeal page with the number; each reveal is one more entry.
    page = client.post(reveal_url(appeal))
    assert page.status_code == 200 and f"tel:{PHONE}" in page.content.decode()
    assert AccessLog.objects.filter(subject=f"appeal:{appeal.tracking_code}:phone").count() == 2


def test_the_api_shows_an_anonymous_residents_phone_masked(city):
    from rest_framework.test import APIClient

    appeal = receive(city, category=grid_category(), phone=PHONE, anonymous=True)
    api = APIClient()
    api.force_authenticate(city.users.grid_worker)
    body = api.get(reverse("api-appeal", args=[appeal.tracking_code])).json()
    assert body["phone"] == MASKED and body["name"] == "匿名"
    assert not AccessLog.objects.exists()


def test_only_those_who_may_contact_the_resident_can_reveal(city, login):
    appeal = receive(city, category=grid_category(), phone=PHONE, anonymous=True)
    u = city.users
    supervisor = login(u.supervisor)
    page = supervisor.get(detail_url(appeal)).content.decode()
    assert MASKED in page and 'id="phone-reveal"' not in page
    assert supervisor.post(reveal_url(appeal)).status_code == 403
    assert login(u.outsider).post(reveal_url(appeal)).status_code == 404
    assert not AccessLog.objects.exists()
    with pytest.raises(ActionForbidden):
        selectors.resident_phone_reveal(user=u.supervisor, appeal=appeal)


def test_a_resident_who_did_not_ask_for_anonymity_is_shown_as_before(city, login):
    appeal = receive(city, category=grid_category(), phone=PHONE, name="王建国")
    page = login(city.users.grid_worker).get(detail_url(appeal)).content.decode()
    assert f"tel:{PHONE}" in page and "王建国" in page and 'id="phone-reveal"' not in page
    assert AccessLog.objects.get().subject == f"appeal:{appeal.tracking_code}"


def test_the_volunteer_who_claimed_it_reveals_it_the_same_way(city, login):
    from appeals.enums import CategoryType, HandlingLevel
    from tests.appeals.factories import CategoryFactory
    from volunteers import services as volunteer_services

    volunteer_services.volunteer_register(community=city.comm_a, user=city.users.volunteer, name="周敏")
    category = CategoryFactory(code="06001", class_name="养老服务", name="助老服务", type=CategoryType.SERVICE,
                               default_level=HandlingLevel.COMMUNITY, volunteer_suitable=True)
    appeal = receive(city, category=category, phone=PHONE, anonymous=True)
    volunteer_services.service_appeal_claim(user=city.users.volunteer, appeal=appeal)
    client = login(city.users.volunteer)
    url = reverse("volunteers:my-appeal", args=[appeal.tracking_code])
    page = client.get(url).content.decode()
    assert MASKED in page and PHONE not in page and 'id="phone-reveal"' in page
    assert not AccessLog.objects.exists()
    revealed = client.post(reverse("volunteers:my-appeal-phone", args=[appeal.tracking_code]))
    assert revealed.status_code == 200 and f"tel:{PHONE}" in revealed.content.decode()
    assert not revealed.cookies.get("messages"), "the number travels in no cookie"
    assert AccessLog.objects.get().subject == f"appeal:{appeal.tracking_code}:phone"


PAGE_AND_API_ROLES = ("grid_worker", "grid_worker2", "community_worker", "outsider", "street_officer",
                      "district_supervisor", "supervisor", "department_handler", "volunteer")


def _in_state(city, state: str):
    from appeals import services

    appeal = receive(city, category=grid_category(), phone=PHONE, anonymous=True)
    if state == "in_progress":
        appeal = services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action="sign")
    elif state == "withdrawn":
        services.appeal_withdraw_by_resident(tracking_code=appeal.tracking_code, phone_last4=PHONE[-4:], reason="已解决")
        appeal.refresh_from_db()
    assert appeal.state == state
    return appeal


@pytest.mark.parametrize("state", ["dispatched", "in_progress", "withdrawn"])
@pytest.mark.parametrize("role", PAGE_AND_API_ROLES)
def test_the_page_and_the_api_reveal_alike(city, login, role, state):
    """The API's reveal (POST /api/v1/appeals/{code}/phone/) is the page's: the same selector
    (appeals.selectors.resident_phone_reveal), the same answer for each role and state, the
    same access-log entry, one per reveal."""
    from rest_framework.test import APIClient

    appeal = _in_state(city, state)
    user = getattr(city.users, role)
    page = login(user).post(reveal_url(appeal), HTTP_HX_REQUEST="true")
    logged_by_page = AccessLog.objects.filter(subject=f"appeal:{appeal.tracking_code}:phone").count()
    api = APIClient()
    api.force_authenticate(user)
    answer = api.post(reverse("api-appeal-phone", args=[appeal.tracking_code]))
    assert answer.status_code == page.status_code, (role, state)
    assert (PHONE in page.content.decode()) is (page.status_code == 200)
    if answer.status_code == 200:
        assert answer.json() == {"phone": PHONE} and answer["Cache-Control"] == "no-store"
    else:
        assert PHONE not in answer.content.decode() and answer.json()["detail"]
    entries = AccessLog.objects.filter(subject=f"appeal:{appeal.tracking_code}:phone")
    assert entries.count() == 2 * logged_by_page, "one entry per reveal, from either"
    assert logged_by_page == (1 if page.status_code == 200 else 0)
    if logged_by_page:
        assert set(entries.values_list("user", "action")) == {(user.pk, AccessAction.VIEW)}
        assert entries.order_by("-id")[0].path == reverse("api-appeal-phone", args=[appeal.tracking_code])
    # Who may reveal, by the one rule: whoever takes part in handling the open appeal.
    may = state != "withdrawn" and role in ("grid_worker", "community_worker", "street_officer")
    assert (answer.status_code == 200) is may, (role, state)
