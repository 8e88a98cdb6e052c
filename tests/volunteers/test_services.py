import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from tests.volunteers.conftest import make_activity, sign_up_and_start
from volunteers import services
from volunteers.enums import PointsKind, SignupStatus, YearlyRating
from volunteers.models import Activity, PartyMemberRegistration, PointsEntry, Reward, Signup, Volunteer
from volunteers.tasks import yearly_evaluation


def _ledger_sum(volunteer) -> int:
    return PointsEntry.objects.filter(volunteer=volunteer).aggregate(s=Sum("delta"))["s"] or 0


def _balance(volunteer) -> int:
    return Volunteer.objects.get(pk=volunteer.pk).points_balance


# --- Registry ---------------------------------------------------------------------------

def test_a_volunteer_needs_an_account_or_a_resident(city):
    with pytest.raises(ApplicationError, match="须关联居民或账号"):
        services.volunteer_register(community=city.comm_a, name="无名")


def test_a_resident_volunteers_only_where_they_live(city):
    resident = city.household_c1.residents.create(name="钱伟")
    with pytest.raises(ApplicationError, match="不住在"):
        services.volunteer_register(community=city.comm_a, resident=resident)


def test_registration_target_defaults_to_the_setting(vol, settings):
    settings.VOLUNTEER_YEARLY_HOURS_TARGET = 40
    reg = services.party_member_register(volunteer=vol.v, work_unit="区税务局", year=2025)
    assert reg.hours_target == 40 and reg.community_id == vol.comm_a.code
    with pytest.raises(Conflict):
        services.party_member_register(volunteer=vol.v, work_unit="区税务局", year=2025)


# --- Sign-up and cancel -------------------------------------------------------------------

def test_sign_up_until_full_then_refused(vol):
    extra = [services.volunteer_register(community=vol.comm_a, user=u) for u in _users(2)]
    for v in [vol.v, vol.v2, extra[0]]:
        services.signup_create(activity=vol.activity, volunteer=v)
    with pytest.raises(Conflict, match="名额已满"):
        services.signup_create(activity=vol.activity, volunteer=extra[1])
    assert Activity.objects.get(pk=vol.activity.pk).signed_up_count == 3


def test_signing_up_twice_is_refused_and_takes_no_place(vol):
    services.signup_create(activity=vol.activity, volunteer=vol.v)
    with pytest.raises(Conflict, match="已报名"):
        services.signup_create(activity=vol.activity, volunteer=vol.v)
    assert Activity.objects.get(pk=vol.activity.pk).signed_up_count == 1


def test_only_the_communitys_volunteers_sign_up(vol):
    with pytest.raises(ActionForbidden):
        services.signup_create(activity=vol.activity, volunteer=vol.v_other)


def test_cancel_gives_the_place_back_and_sign_up_again_works(vol):
    services.signup_create(activity=vol.activity, volunteer=vol.v)
    signup = services.signup_cancel(activity=vol.activity, volunteer=vol.v)
    assert signup.status == SignupStatus.CANCELLED
    assert Activity.objects.get(pk=vol.activity.pk).signed_up_count == 0
    again = services.signup_create(activity=vol.activity, volunteer=vol.v)
    assert again.pk == signup.pk and again.status == SignupStatus.SIGNED_UP
    assert Activity.objects.get(pk=vol.activity.pk).signed_up_count == 1


def test_cannot_cancel_after_the_start(vol):
    sign_up_and_start(vol.activity, vol.v)
    with pytest.raises(Conflict, match="已开始"):
        services.signup_cancel(activity=vol.activity, volunteer=vol.v)


def test_cannot_sign_up_after_the_start_or_to_a_cancelled_activity(vol):
    started = make_activity(vol.comm_a, vol.users.community_worker, starts_in=-dt.timedelta(minutes=5))
    with pytest.raises(Conflict, match="已开始"):
        services.signup_create(activity=started, volunteer=vol.v)
    services.activity_cancel(activity=vol.activity)
    with pytest.raises(Conflict, match="已取消"):
        services.signup_create(activity=vol.activity, volunteer=vol.v)


# --- Attendance, hours and points ---------------------------------------------------------

def test_code_check_in_and_out_credit_hours_and_points(vol):
    activity = sign_up_and_start(make_activity(vol.comm_a, vol.users.community_worker, hours=4), vol.v,
                                 started_ago=dt.timedelta(hours=3))
    with pytest.raises(ApplicationError, match="签到码不正确"):
        wrong = "000000" if activity.checkin_code != "000000" else "111111"
        services.signup_self_check(activity=activity, volunteer=vol.v, direction="in", code=wrong)
    services.signup_self_check(activity=activity, volunteer=vol.v, direction="in", code=activity.checkin_code)
    # Pretend the check-in was 2.5 hours ago; the check-out is now.
    Signup.objects.filter(activity=activity, volunteer=vol.v).update(checked_in_at=timezone.now() - dt.timedelta(hours=2, minutes=30))
    signup = services.signup_self_check(activity=activity, volunteer=vol.v, direction="out", code=activity.checkin_code)
    assert signup.status == SignupStatus.ATTENDED
    assert signup.minutes_credited == 150 and signup.hours_credited == Decimal("2.50")
    assert _balance(vol.v) == 2  # floor(150 / 60): the other half hour waits for the next activity
    entry = PointsEntry.objects.get(volunteer=vol.v)
    assert entry.kind == PointsKind.EARN and entry.activity_id == activity.pk and entry.balance_after == 2
    assert entry.accrued == 2 and "150 分钟" in entry.note


def test_points_per_hour_is_a_setting(vol, settings):
    settings.VOLUNTEER_POINTS_PER_HOUR = 3
    activity = sign_up_and_start(vol.activity, vol.v, started_ago=dt.timedelta(hours=2))
    services.signup_check_in(activity=activity, volunteer=vol.v, at=activity.starts_at)
    services.signup_check_out(activity=activity, volunteer=vol.v)
    assert _balance(vol.v) == 6


def test_check_out_twice_credits_once(vol):
    activity = sign_up_and_start(vol.activity, vol.v, started_ago=dt.timedelta(hours=2))
    services.signup_check_in(activity=activity, volunteer=vol.v, at=activity.starts_at)
    services.signup_check_out(activity=activity, volunteer=vol.v)
    with pytest.raises(Conflict, match="已签退"):
        services.signup_check_out(activity=activity, volunteer=vol.v)
    assert PointsEntry.objects.filter(volunteer=vol.v).count() == 1


def test_check_out_before_check_in_and_future_times_are_refused(vol):
    activity = sign_up_and_start(vol.activity, vol.v)
    with pytest.raises(Conflict, match="尚未签到"):
        services.signup_check_out(activity=activity, volunteer=vol.v)
    with pytest.raises(ApplicationError, match="不能晚于现在"):
        services.signup_check_in(activity=activity, volunteer=vol.v, at=timezone.now() + dt.timedelta(hours=1))


def test_self_check_in_window_by_qr_says_so(vol):
    services.signup_create(activity=vol.activity, volunteer=vol.v)  # starts tomorrow
    # The QR token was verified by the caller (code None): the window is said plainly.
    with pytest.raises(Conflict, match="签到尚未开始"):
        services.signup_self_check(activity=vol.activity, volunteer=vol.v, direction="in")


def _answer(vol, activity, code):
    with pytest.raises(ApplicationError) as caught:
        services.signup_self_check(activity=activity, volunteer=vol.v, direction="in", code=code)
    return caught.value.status_code, caught.value.message


def test_a_right_code_outside_the_window_answers_like_a_wrong_code(vol):
    services.signup_create(activity=vol.activity, volunteer=vol.v)  # starts tomorrow: the window is closed
    right = vol.activity.checkin_code
    wrong = "000000" if right != "000000" else "111111"
    expected = (400, "签到码不正确，或当前不在签到时间内（活动开始前 60 分钟至活动结束）。")
    assert _answer(vol, vol.activity, right) == expected
    assert _answer(vol, vol.activity, wrong) == expected
    # Over, too: the same answer for the right code and a wrong one.
    ended = sign_up_and_start(make_activity(vol.comm_a, vol.users.community_worker, hours=1, title="已结束"), vol.v,
                              started_ago=dt.timedelta(hours=2))
    assert _answer(vol, ended, ended.checkin_code) == _answer(vol, ended, wrong) == expected


def test_wrong_codes_are_limited_per_activity_and_volunteer(vol, settings):
    settings.VOLUNTEER_CHECKIN_CODE_FAILURES = "3/hour"
    activity = sign_up_and_start(make_activity(vol.comm_a, vol.users.community_worker, hours=4), vol.v)
    wrong = "000000" if activity.checkin_code != "000000" else "111111"
    for _ in range(3):
        assert _answer(vol, activity, wrong)[0] == 400
    # The fourth try, even with the right code, is refused: no more guessing here.
    assert _answer(vol, activity, activity.checkin_code) == (
        429, "签到码输错次数过多，请稍后再试，或扫描组织者屏幕上的二维码。")
    # Another volunteer at the same activity is not held back (signed up before it started)…
    Signup.objects.create(activity=activity, volunteer=vol.v2)
    signup = services.signup_self_check(activity=activity, volunteer=vol.v2, direction="in", code=activity.checkin_code)
    assert signup.status == SignupStatus.CHECKED_IN
    # …and the QR code still checks the first one in.
    assert services.signup_self_check(activity=activity, volunteer=vol.v, direction="in").status == SignupStatus.CHECKED_IN


def test_301_guesses_are_not_possible(vol):
    """The probe that found the hole: 301 codes in a row at one activity."""
    activity = sign_up_and_start(make_activity(vol.comm_a, vol.users.community_worker, hours=4), vol.v)
    answers = []
    for guess in range(301):
        code = f"{guess:06d}"
        if code == activity.checkin_code:
            continue
        answers.append(_answer(vol, activity, code)[0])
    assert answers.count(400) == 10 and set(answers[10:]) == {429}


def test_qr_token_round_trip_and_expiry(vol, settings):
    token = services.checkin_token_make(activity=vol.activity, direction="out")
    assert services.checkin_token_read(token=token) == (vol.activity.pk, "out")
    with pytest.raises(ApplicationError, match="无效"):
        services.checkin_token_read(token=token + "x")
    settings.VOLUNTEER_CHECKIN_TOKEN_SECONDS = -1  # everything has expired
    with pytest.raises(ApplicationError, match="已过期"):
        services.checkin_token_read(token=token)


def test_finishing_checks_out_whoever_is_still_there(vol):
    activity = sign_up_and_start(vol.activity, vol.v, started_ago=dt.timedelta(hours=2))
    services.signup_check_in(activity=activity, volunteer=vol.v, at=activity.starts_at)
    services.activity_finish(activity=activity)
    signup = activity.signups.get()
    assert signup.status == SignupStatus.ATTENDED and signup.hours_credited >= Decimal("1.99")
    assert _balance(vol.v) == 2


# --- Points: caps, threshold, redemption ------------------------------------------------------

def test_balance_cap_credits_only_up_to_the_cap_with_a_note(vol, settings):
    settings.VOLUNTEER_POINTS_BALANCE_CAP = 12
    services.points_adjust(volunteer=vol.v, delta=10, note="结转", actor=vol.users.community_worker)
    entry = services.points_award_for_service_appeal(volunteer=vol.v, appeal_id=1, rating="satisfied")
    assert entry.delta == 2 and entry.balance_after == 12 and "上限" in entry.note
    entry2 = services.points_award_for_service_appeal(volunteer=vol.v, appeal_id=2, rating="satisfied")
    assert entry2.delta == 0 and _balance(vol.v) == 12
    assert _ledger_sum(vol.v) == 12


def test_appeal_points_follow_the_rating_setting_and_are_awarded_once(vol, settings):
    settings.VOLUNTEER_APPEAL_RATING_POINTS = {"satisfied": 7, "basically": 4, "unsatisfied": 0}
    first = services.points_award_for_service_appeal(volunteer=vol.v, appeal_id=42, rating="basically", appeal_code="AB12CD34")
    again = services.points_award_for_service_appeal(volunteer=vol.v, appeal_id=42, rating="satisfied")
    assert first.pk == again.pk and first.delta == 4 and first.source == "service_appeal"
    assert first.appeal_code == "AB12CD34" and _balance(vol.v) == 4
    assert services.points_award_for_service_appeal(volunteer=vol.v, appeal_id=43, rating="unsatisfied").delta == 0
    with pytest.raises(ApplicationError):
        services.points_award_for_service_appeal(volunteer=vol.v, appeal_id=44, rating="great")


def test_redemption_threshold(vol, settings):
    settings.VOLUNTEER_REDEMPTION_THRESHOLD = 15
    services.points_adjust(volunteer=vol.v, delta=12, note="结转", actor=vol.users.community_worker)
    with pytest.raises(Conflict, match="满 15 分才能兑换"):
        services.reward_redeem(volunteer=vol.v, reward=vol.reward)  # costs 10, balance 12 < 15
    assert Reward.objects.get(pk=vol.reward.pk).stock == 5  # the stock was given back
    services.points_adjust(volunteer=vol.v, delta=3, note="补录", actor=vol.users.community_worker)
    services.reward_redeem(volunteer=vol.v, reward=vol.reward)
    assert _balance(vol.v) == 5 == _ledger_sum(vol.v)
    assert Reward.objects.get(pk=vol.reward.pk).stock == 4


def test_redemption_never_overdraws_or_oversells(vol):
    services.points_adjust(volunteer=vol.v, delta=25, note="结转", actor=vol.users.community_worker)
    scarce = Reward.objects.create(name="公园年票", cost=10, stock=1)
    services.reward_redeem(volunteer=vol.v, reward=scarce)
    with pytest.raises(Conflict, match="已兑完"):
        services.reward_redeem(volunteer=vol.v, reward=scarce)
    services.reward_redeem(volunteer=vol.v, reward=vol.reward)
    with pytest.raises(Conflict, match="满 10 分才能兑换|积分不足"):
        services.reward_redeem(volunteer=vol.v, reward=vol.reward)  # 5 left
    assert _balance(vol.v) == 5 == _ledger_sum(vol.v)
    assert vol.v.redemptions.count() == 2


def test_reward_of_another_community_does_not_exist_for_the_volunteer(vol):
    elsewhere = Reward.objects.create(name="米", cost=10, stock=3, community=vol.comm_c)
    with pytest.raises(NotFound):
        services.reward_redeem(volunteer=vol.v, reward=elsewhere)


# --- Yearly evaluation ------------------------------------------------------------------------

def _attended(vol, volunteer, hours: int, *, title: str):
    activity = sign_up_and_start(make_activity(vol.comm_a, vol.users.community_worker, title=title, hours=hours + 1,
                                               capacity_max=10), volunteer, started_ago=dt.timedelta(hours=hours))
    services.signup_check_in(activity=activity, volunteer=volunteer, at=activity.starts_at)
    services.signup_check_out(activity=activity, volunteer=volunteer)


@pytest.mark.parametrize(("hours", "target", "reported", "expected"), [
    (80, 50, True, YearlyRating.EXCELLENT),
    (50, 50, True, YearlyRating.GOOD),
    (25, 50, True, YearlyRating.QUALIFIED),
    (24, 50, True, YearlyRating.UNQUALIFIED),
    (80, 50, False, YearlyRating.QUALIFIED),
    (10, 50, False, YearlyRating.UNQUALIFIED),
])
def test_yearly_rating_rule(hours, target, reported, expected):
    assert services.yearly_rating(hours=Decimal(hours), target=target, reported=reported) == expected


def test_yearly_evaluation_task_marks_members_below_target_and_is_safe_twice(vol, settings):
    settings.VOLUNTEER_MAX_HOURS_PER_ACTIVITY = 8
    year = timezone.localdate().year
    hard = services.party_member_register(volunteer=vol.v, work_unit="区税务局", year=year, hours_target=4,
                                          reported_at=timezone.localdate())
    unreported = services.party_member_register(volunteer=vol.v2, work_unit="区医院", year=year, hours_target=4)
    _attended(vol, vol.v, 6, title="A")
    _attended(vol, vol.v2, 6, title="B")
    other_year = services.party_member_register(volunteer=vol.v_other, work_unit="x", year=year - 1)

    assert yearly_evaluation.apply(kwargs={"year": year}).get() == 2
    hard.refresh_from_db(), unreported.refresh_from_db(), other_year.refresh_from_db()
    assert hard.rating == YearlyRating.EXCELLENT and hard.below_target is False
    assert hard.hours_done == Decimal("6.00")
    # Same hours, but never reported (报到) this year: no better than 合格.
    assert unreported.rating == YearlyRating.QUALIFIED and unreported.below_target is False
    assert other_year.rating == ""

    yearly_evaluation.apply(kwargs={"year": year})
    hard.refresh_from_db()
    assert hard.rating == YearlyRating.EXCELLENT and hard.hours_done == Decimal("6.00")
    assert PartyMemberRegistration.objects.filter(year=year).exclude(rating="").count() == 2


def test_member_without_hours_is_below_target(vol):
    year = timezone.localdate().year
    reg = services.party_member_register(volunteer=vol.v, work_unit="区税务局", year=year, reported_at=timezone.localdate())
    services.party_members_evaluate(year=year)
    reg.refresh_from_db()
    assert reg.below_target is True and reg.rating == YearlyRating.UNQUALIFIED and reg.hours_done == 0


def _users(n):
    from tests.factories import UserFactory
    return [UserFactory() for _ in range(n)]
