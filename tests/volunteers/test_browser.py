"""``volunteer`` in a real browser (Debian's Chromium): signs up for an activity, is
checked in and out by the organiser and sees the points arrive; then, on a phone-sized
screen, claims a service appeal from the order hall, records the contact and resolves it
with a photo; the resident rates it and the points arrive on 积分明细."""

import datetime as dt

import pytest
from django.utils import timezone

from appeals import services as appeal_services
from appeals.enums import AppealAction, AppealState, CategoryType, HandlingLevel, Rating
from appeals.models import Appeal
from tests.appeals.factories import CategoryFactory, receive
from tests.browser import browser_page, login_as  # noqa: F401  (fixture)
from tests.factories import make_city
from tests.helpers import photo_file
from tests.volunteers.conftest import make_activity
from volunteers import services
from volunteers.models import Activity, Signup, Volunteer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_volunteer_signs_up_earns_hours_and_claims_a_service_appeal(browser_page, live_server, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = str(tmp_path / "media")
    city = make_city()
    me = services.volunteer_register(community=city.comm_a, user=city.users.volunteer, name="周敏")
    activity = make_activity(city.comm_a, city.users.community_worker, title="重阳节敬老助餐", capacity_max=5)
    category = CategoryFactory(code="06001", class_name="养老服务", name="助老服务（代购、陪诊）",
                               type=CategoryType.SERVICE, default_level=HandlingLevel.COMMUNITY, volunteer_suitable=True)
    errand = receive(city, category=category, description="独居老人需要有人帮忙代购米面油。")
    page = browser_page

    # 1. Sign up for the activity.
    login_as(page, live_server, "volunteer")
    page.goto(f"{live_server.url}/volunteers/activities/")
    page.click("text=重阳节敬老助餐")
    page.click("button:has-text('报名参加')")
    page.wait_for_selector("text=报名成功")
    assert Signup.objects.get(activity=activity, volunteer=me).status == "signed_up"

    # 2. The activity took place: the organiser checks the volunteer in (from the start)
    # and out (now) — 2 hours, 2 points.
    started = timezone.now() - dt.timedelta(hours=2)
    Activity.objects.filter(pk=activity.pk).update(starts_at=started, ends_at=started + dt.timedelta(hours=3))
    activity.refresh_from_db()
    services.signup_check_in(activity=activity, volunteer=me, at=started)
    services.signup_check_out(activity=activity, volunteer=me, actor=city.users.community_worker)
    page.goto(f"{live_server.url}/volunteers/points/")
    assert "余额 2 分" in page.inner_text("h1")
    assert "重阳节敬老助餐" in page.inner_text("table")

    # 3. On a phone: the order hall, the card (no phone yet), the claim.
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("nav.subnav a:has-text('接单大厅')")
    page.wait_for_selector(".hall-item")
    page.click(".hall-item h2 a")
    assert "接单后可见" in page.inner_text("main") and "13812345678" not in page.content()
    page.click("button:has-text('接单')")
    page.wait_for_selector("text=接单成功")
    assert page.inner_text("#resident-phone") == "13812345678"

    # 4. Contact, then resolve with a photo.
    page.fill("textarea[name=contact-note]", "已电话联系，约好明天上午送货。")
    page.click("button:has-text('记录已联系居民')")
    page.wait_for_selector("text=已记录联系情况")
    page.fill("textarea[name=resolve-result]", "已代购米面油并送到老人家中。")
    page.set_input_files("input[name=resolve-photos]", photo_file(tmp_path, "result.png"))
    page.click("button:has-text('提交办结')")
    page.wait_for_selector("text=已办结")
    errand.refresh_from_db()
    assert errand.state == AppealState.AWAITING_EVALUATION and errand.claimed_by == me
    assert errand.attachments.count() == 1
    assert [e.action for e in errand.events.all()][2:5] == [AppealAction.CLAIM, AppealAction.CONTACT, AppealAction.RESOLVE]

    # 5. The resident rates it (满意): 5 points arrive on 积分明细.
    appeal_services.appeal_evaluate(tracking_code=errand.tracking_code, phone_last4="5678", solved=True,
                                    rating=Rating.SATISFIED)
    page.click("nav.subnav a:has-text('积分明细')")
    assert "余额 7 分" in page.inner_text("h1")
    assert errand.tracking_code in page.inner_text("table")
    assert Volunteer.objects.get(pk=me.pk).points_balance == 7
    page.click("nav.subnav a:has-text('我的接单')")
    assert "已结案" in page.inner_text("main")
    assert Appeal.objects.get(pk=errand.pk).state == AppealState.CLOSED
    assert page.console_errors == []
