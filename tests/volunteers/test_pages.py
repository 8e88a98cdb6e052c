import datetime as dt
import re

import pytest
from django.urls import reverse

from tests.factories import ResidentFactory
from tests.volunteers.conftest import make_activity, sign_up_and_start
from volunteers import services
from volunteers.enums import SignupStatus
from volunteers.models import Activity, PointsEntry, Signup


def test_volunteer_signs_up_and_cancels_from_the_pages(vol, login):
    client = login(vol.users.volunteer)
    listing = client.get(reverse("volunteers:activity-list"))
    assert listing.status_code == 200 and "楼道清洁" in listing.content.decode()
    response = client.post(reverse("volunteers:activity-signup", args=[vol.activity.pk]), follow=True)
    assert "报名成功" in response.content.decode()
    assert Activity.objects.get(pk=vol.activity.pk).signed_up_count == 1
    response = client.post(reverse("volunteers:activity-signup-cancel", args=[vol.activity.pk]), follow=True)
    assert "已取消报名" in response.content.decode()
    assert Signup.objects.get(volunteer=vol.v).status == SignupStatus.CANCELLED


def test_full_activity_says_so(vol, login):
    vol.activity.capacity_max = 1
    vol.activity.save()
    services.signup_create(activity=vol.activity, volunteer=vol.v2)
    response = login(vol.users.volunteer).post(reverse("volunteers:activity-signup", args=[vol.activity.pk]), follow=True)
    assert "名额已满" in response.content.decode()


@pytest.mark.parametrize("who", ["other_volunteer", "outsider"])
def test_outside_the_community_activity_pages_are_404(vol, login, who):
    user = vol.other_user if who == "other_volunteer" else vol.users.outsider
    client = login(user)
    for name in ["volunteers:activity-detail", "volunteers:manage-detail", "volunteers:manage-qr"]:
        assert client.get(reverse(name, args=[vol.activity.pk])).status_code == 404, name
    assert client.post(reverse("volunteers:activity-signup", args=[vol.activity.pk])).status_code == 404
    assert Activity.objects.get(pk=vol.activity.pk).signed_up_count == 0


def test_outsider_cannot_see_another_communitys_overview(vol, login):
    client = login(vol.users.outsider)
    assert client.get(reverse("volunteers:overview"), {"community": vol.comm_a.code}).status_code == 404
    page = client.get(reverse("volunteers:overview")).content.decode()
    assert "周敏" not in page


def test_a_volunteer_may_not_manage_an_activity(vol, login):
    client = login(vol.users.volunteer)
    response = client.get(reverse("volunteers:manage-detail", args=[vol.activity.pk]))
    assert response.status_code == 403 and "组织者" in response.content.decode()
    assert login(vol.users.supervisor).get(reverse("volunteers:manage-detail", args=[vol.activity.pk])).status_code == 403


def test_qr_screen_shows_an_inline_svg_whose_url_checks_the_volunteer_in(vol, login, client):
    activity = sign_up_and_start(vol.activity, vol.v)
    organiser = login(vol.users.community_worker)
    screen = organiser.get(reverse("volunteers:manage-qr", args=[activity.pk]))
    html = screen.content.decode()
    assert screen.status_code == 200 and "<svg" in html and activity.checkin_code in html
    assert "hx-trigger" in html
    token = re.search(r"/volunteers/checkin/([^/\"]+)/", html).group(1)
    fragment = organiser.get(reverse("volunteers:manage-qr-svg", args=[activity.pk]), {"d": "in"})
    assert fragment.status_code == 200 and "<svg" in fragment.content.decode()

    volunteer = login(vol.users.volunteer)
    url = reverse("volunteers:qr-checkin", args=[token])
    assert "确认签到" in volunteer.get(url).content.decode()
    volunteer.post(url)
    assert Signup.objects.get(volunteer=vol.v).status == SignupStatus.CHECKED_IN


def test_qr_of_another_community_is_404_for_a_volunteer(vol, login):
    token = services.checkin_token_make(activity=vol.activity, direction="in")
    response = login(vol.other_user).get(reverse("volunteers:qr-checkin", args=[token]))
    assert response.status_code == 404


def test_organiser_checks_in_and_out_and_hours_and_points_arrive(vol, login):
    activity = sign_up_and_start(vol.activity, vol.v, started_ago=dt.timedelta(hours=3))
    signup = Signup.objects.get(volunteer=vol.v)
    client = login(vol.users.community_worker)
    start = activity.starts_at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")
    client.post(reverse("volunteers:manage-check-in", args=[activity.pk, signup.pk]), {"at": start})
    response = client.post(reverse("volunteers:manage-check-out", args=[activity.pk, signup.pk]), {"at": ""}, follow=True)
    assert "签退成功" in response.content.decode()
    signup.refresh_from_db()
    assert signup.status == SignupStatus.ATTENDED and signup.hours_credited >= 2
    home = login(vol.users.volunteer).get(reverse("volunteers:home")).content.decode()
    assert "楼道清洁" in home and str(signup.hours_credited) in home
    assert PointsEntry.objects.get(volunteer=vol.v).delta == 3


def test_volunteer_checks_in_with_the_code_on_the_page(vol, login):
    activity = sign_up_and_start(vol.activity, vol.v)
    client = login(vol.users.volunteer)
    response = client.post(reverse("volunteers:activity-self-check", args=[activity.pk]),
                           {"code": activity.checkin_code, "direction": "in"}, follow=True)
    assert "签到成功" in response.content.decode()


def test_worker_creates_an_activity(vol, login):
    client = login(vol.users.community_worker)
    response = client.post(reverse("volunteers:activity-create"), {
        "community": vol.comm_a.code, "title": "义诊", "place": "社区卫生站", "description": "",
        "starts_at": "2099-05-01T09:00", "ends_at": "2099-05-01T11:00", "capacity_min": 1, "capacity_max": 10,
    })
    assert response.status_code == 302
    activity = Activity.objects.get(title="义诊")
    assert activity.organiser == vol.users.community_worker and activity.community_id == vol.comm_a.code
    assert login(vol.users.volunteer).get(reverse("volunteers:activity-create")).status_code == 403


def test_rewards_page_and_redeem(vol, login):
    services.points_adjust(volunteer=vol.v, delta=15, note="结转", actor=vol.users.community_worker)
    client = login(vol.users.volunteer)
    assert "洗衣液" in client.get(reverse("volunteers:rewards")).content.decode()
    response = client.post(reverse("volunteers:reward-redeem", args=[vol.reward.pk]), follow=True)
    assert "兑换成功" in response.content.decode()
    response = client.post(reverse("volunteers:reward-redeem", args=[vol.reward.pk]), follow=True)
    assert "满 10 分才能兑换" in response.content.decode()
    assert "兑换“洗衣液”" in client.get(reverse("volunteers:points")).content.decode()


def test_an_account_without_a_volunteer_row_is_told_to_register(city, login):
    response = login(city.users.volunteer).get(reverse("volunteers:home"))
    assert response.status_code == 200 and "还没有登记为志愿者" in response.content.decode()
    refused = login(city.users.volunteer).get(reverse("volunteers:activity-list"))
    assert refused.status_code == 403 and "仅限已登记的志愿者" in refused.content.decode()


def test_list_pages_run_a_bounded_number_of_queries(vol, login, django_assert_max_num_queries):
    for i in range(25):
        resident = ResidentFactory(household=vol.household_a1, name=f"志愿者{i}")
        v = services.volunteer_register(community=vol.comm_a, resident=resident)
        services.party_member_register(volunteer=v, work_unit="区税务局", year=2030)
        a = make_activity(vol.comm_a, vol.users.community_worker, title=f"活动{i}", capacity_max=30)
        services.signup_create(activity=a, volunteer=v)
        services.signup_create(activity=a, volunteer=vol.v)
    services.paired_organization_register(community=vol.comm_a, name="党支部")
    worker, volunteer = login(vol.users.community_worker), None
    for url in [reverse("volunteers:manage"), reverse("volunteers:overview"),
                reverse("volunteers:overview-members") + "?year=2030",
                reverse("volunteers:overview-organizations")]:
        with django_assert_max_num_queries(14):
            assert worker.get(url).status_code == 200
    worker.logout()
    volunteer = login(vol.users.volunteer)
    for url in [reverse("volunteers:home"), reverse("volunteers:activity-list"), reverse("volunteers:points"),
                reverse("volunteers:rewards")]:
        with django_assert_max_num_queries(13):  # 12 + the header's unread-message count
            assert volunteer.get(url).status_code == 200
