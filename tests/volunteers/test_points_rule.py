"""Points and hours without drift (issue 13, item 5), through the volunteers services.

- credited minutes = min(check-out, scheduled end + 30 min) − max(check-in, start), ≥ 0;
- 双报到 hours = the credited minutes, uncapped;
- points = floor(Σ min(mᵢ, cap × 60) × rate / 60) over the lifetime, less the activity
  points already accrued; the balance cap after that;
- corrections are new ledger lines (冲正), never edits.
"""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from governance.kernel.errors import ApplicationError, Conflict
from tests.volunteers.conftest import make_activity, sign_up_and_start
from volunteers import selectors, services
from volunteers.enums import PointsKind, PointsSource
from volunteers.models import PointsEntry, Signup, Volunteer

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


def _attend(vol, volunteer, *, minutes: int, title: str, length_h: int = 1, started_ago=dt.timedelta(hours=12),
            early: int = 0, actor=None):
    """``volunteer`` attends a ``length_h``-hour activity that started ``started_ago``:
    checked in ``early`` minutes before the start, checked out ``minutes`` after it."""
    activity = sign_up_and_start(
        make_activity(vol.comm_a, vol.users.community_worker, title=title, hours=length_h, capacity_max=10),
        volunteer, started_ago=started_ago,
    )
    services.signup_check_in(activity=activity, volunteer=volunteer, at=activity.starts_at - early * M)
    return services.signup_check_out(activity=activity, volunteer=volunteer, at=activity.starts_at + minutes * M,
                                      actor=actor)


def _balance(volunteer) -> int:
    return Volunteer.objects.get(pk=volunteer.pk).points_balance


def _ledger(volunteer) -> list[tuple[str, int, int]]:
    return list(PointsEntry.objects.filter(volunteer=volunteer).order_by("id").values_list("kind", "delta", "accrued"))


def test_two_half_hours_give_one_point_and_four_quarter_hours_give_one(vol):
    for i in range(2):
        _attend(vol, vol.v, minutes=30, title=f"半小时{i}")
    # 30 + 30 = 60 minutes → floor(60 / 60) = 1 (rounding each half hour up gave 2).
    assert _balance(vol.v) == 1
    assert _ledger(vol.v) == [("earn", 0, 0), ("earn", 1, 1)]
    for i in range(4):
        _attend(vol, vol.v2, minutes=15, title=f"一刻钟{i}")
    # 4 × 15 = 60 minutes → 1 (rounding each quarter hour gave 0).
    assert _balance(vol.v2) == 1
    assert [delta for _k, delta, _a in _ledger(vol.v2)] == [0, 0, 0, 1]
    assert selectors.hours_total(volunteer=vol.v2) == Decimal("1.00")


def test_credited_minutes_run_from_the_start_to_30_minutes_after_the_end(vol):
    # Checked in 40 minutes early, out 50 minutes after a 1-hour activity's end:
    # credited from the start (not the check-in) to the end + 30 = 90 minutes.
    signup = _attend(vol, vol.v, minutes=110, early=40, title="早到晚走")
    assert signup.minutes_credited == 90
    # A forgotten check-out the next day earns the end + 30 minutes, no more.
    activity = sign_up_and_start(make_activity(vol.comm_a, vol.users.community_worker, title="忘记签退", hours=2),
                                 vol.v2, started_ago=dt.timedelta(days=1))
    services.signup_check_in(activity=activity, volunteer=vol.v2, at=activity.starts_at + 10 * M)
    assert services.signup_check_out(activity=activity, volunteer=vol.v2).minutes_credited == 140  # 2 h + 30 − 10
    # Checked out before the start (an organiser's slip): 0, never negative.
    activity = sign_up_and_start(make_activity(vol.comm_a, vol.users.community_worker, title="未开始", hours=1),
                                 vol.v, started_ago=dt.timedelta(hours=3))
    services.signup_check_in(activity=activity, volunteer=vol.v, at=activity.starts_at - 30 * M)
    assert services.signup_check_out(activity=activity, volunteer=vol.v,
                                     at=activity.starts_at - 10 * M).minutes_credited == 0


def test_hours_are_uncapped_and_points_capped_per_activity_both_shown(vol, settings, login):
    settings.VOLUNTEER_MAX_HOURS_PER_ACTIVITY = 8
    year = timezone.localdate().year
    registration = services.party_member_register(volunteer=vol.v, work_unit="区税务局", year=year, hours_target=10,
                                                  reported_at=timezone.localdate())
    # A 10-hour activity, attended throughout: 600 minutes. Points count 480 of them.
    _attend(vol, vol.v, minutes=600, length_h=10, started_ago=dt.timedelta(hours=11), title="长活动")
    assert _balance(vol.v) == 8
    assert selectors.hours_total(volunteer=vol.v) == Decimal("10.00")
    assert selectors.points_hours_total(volunteer=vol.v) == Decimal("8.00")
    # The yearly 双报到 evaluation counts the 10 hours: the target is met.
    services.party_members_evaluate(year=year)
    registration.refresh_from_db()
    assert (registration.hours_done, registration.below_target) == (Decimal("10.00"), False)
    # Where they differ, the pages show both.
    points_page = login(vol.users.volunteer).get(reverse("volunteers:points")).content.decode()
    assert "10.00" in points_page and "其中计积分时长" in points_page and "8.00" in points_page
    members = login(vol.users.community_worker).get(reverse("volunteers:overview-members")).content.decode()
    assert "10.00 / 10" in members and "（计积分 8.00）" in members
    # The API too.
    me = login(vol.users.volunteer).get("/api/v1/volunteers/me/").json()
    assert (me["hours_total"], me["points_hours_total"], me["points_balance"]) == ("10.00", "8.00", 8)


def test_the_balance_cap_applies_after_the_rule(vol, settings):
    settings.VOLUNTEER_POINTS_BALANCE_CAP = 12
    services.points_adjust(volunteer=vol.v, delta=11, note="结转", actor=vol.users.community_worker)
    entry = PointsEntry.objects.get(signup=_attend(vol, vol.v, minutes=180, length_h=3, title="三小时"))
    # The rule gives 3; the cap lets 1 in; the line keeps both figures.
    assert (entry.delta, entry.accrued, entry.balance_after) == (1, 3, 12) and "上限" in entry.note
    # The lost points do not come back later: the rule's 3 have accrued.
    services.points_adjust(volunteer=vol.v, delta=-5, note="兑换线下礼品", actor=vol.users.community_worker)
    _attend(vol, vol.v, minutes=30, title="再半小时")
    assert _balance(vol.v) == 7  # 210 minutes → 3, all accrued already


def test_a_correction_is_a_reversing_line_and_past_lines_stay(vol):
    first = _attend(vol, vol.v, minutes=90, title="甲")
    _attend(vol, vol.v, minutes=90, title="乙")
    assert _balance(vol.v) == 3  # 180 minutes
    original = list(PointsEntry.objects.filter(volunteer=vol.v).order_by("id").values())
    # The first attendance was really 30 minutes: 120 minutes in all → 2 points.
    activity = first.activity
    signup = services.signup_correct_attendance(
        activity=activity, volunteer=vol.v, checked_in_at=activity.starts_at,
        checked_out_at=activity.starts_at + 30 * M, reason="签退时间登记有误", actor=vol.users.community_worker,
    )
    assert signup.minutes_credited == 30
    reversal = PointsEntry.objects.filter(volunteer=vol.v).latest("id")
    assert (reversal.kind, reversal.delta, reversal.accrued, reversal.balance_after) == ("reversal", -1, -1, 2)
    assert "90 分钟 → 30 分钟" in reversal.note and reversal.created_by == vol.users.community_worker
    assert list(PointsEntry.objects.filter(volunteer=vol.v).order_by("id").values())[:2] == original
    # Corrected up again (to 90): the point comes back as a new earning line.
    services.signup_correct_attendance(
        activity=activity, volunteer=vol.v, checked_in_at=activity.starts_at,
        checked_out_at=activity.starts_at + 90 * M, reason="核对签到表", actor=vol.users.community_worker,
    )
    assert _balance(vol.v) == 3 and _ledger(vol.v)[-1] == ("earn", 1, 1)
    # A spent balance is never overdrawn: the shortfall is noted.
    services.points_adjust(volunteer=vol.v, delta=-3, note="兑换", actor=vol.users.community_worker)
    services.signup_correct_attendance(
        activity=activity, volunteer=vol.v, checked_in_at=activity.starts_at,
        checked_out_at=activity.starts_at, reason="未实际参加", actor=vol.users.community_worker,
    )
    last = PointsEntry.objects.filter(volunteer=vol.v).latest("id")
    # 0 + 90 minutes → 1 point, 3 accrued: 2 to take back from a balance of 0.
    assert (last.delta, last.accrued, _balance(vol.v)) == (0, -2, 0) and "2 分未能扣回" in last.note
    with pytest.raises(ApplicationError, match="原因"):
        services.signup_correct_attendance(activity=activity, volunteer=vol.v, checked_in_at=activity.starts_at,
                                           checked_out_at=activity.starts_at, reason=" ", actor=None)
    services.signup_create(activity=vol.activity, volunteer=vol.v)
    with pytest.raises(Conflict, match="尚未签退"):
        services.signup_correct_attendance(activity=vol.activity, volunteer=vol.v, checked_in_at=timezone.now(),
                                           checked_out_at=timezone.now(), reason="x", actor=None)


def test_the_organiser_corrects_on_the_page(vol, login):
    signup = _attend(vol, vol.v, minutes=90, title="甲")
    client = login(vol.users.community_worker)
    local = dt.timezone(dt.timedelta(hours=8))
    start = signup.activity.starts_at.astimezone(local)
    response = client.post(reverse("volunteers:manage-correct", args=[signup.activity.pk, signup.pk]), {
        "checked_in_at": start.strftime("%Y-%m-%dT%H:%M"),
        # The form has whole minutes: 31 minutes after the start's minute is 30 whole minutes after the start.
        "checked_out_at": (start + 31 * M).strftime("%Y-%m-%dT%H:%M"), "reason": "签退时间登记有误",
    }, follow=True)
    assert "已更正" in response.content.decode()
    assert Signup.objects.get(pk=signup.pk).minutes_credited == 30 and _balance(vol.v) == 0
    assert _ledger(vol.v)[-1] == ("reversal", -1, -1)
    # A volunteer may not correct.
    other = login(vol.users.volunteer).post(reverse("volunteers:manage-correct", args=[signup.activity.pk, signup.pk]), {
        "checked_in_at": start.strftime("%Y-%m-%dT%H:%M"), "checked_out_at": start.strftime("%Y-%m-%dT%H:%M"),
        "reason": "x"})
    assert other.status_code == 403


def test_the_old_rounding_is_corrected_by_reversing_lines(vol):
    """Before issue 13 each activity's hours were rounded on their own: two 30-minute
    activities credited 2 points. Such a ledger (as migration 0002 leaves it: the old
    lines accrue what they credited) is brought to the rule by one reversing line."""
    for i in range(2):
        signup = _attend(vol, vol.v, minutes=30, title=f"旧{i}")
    # The old rule's lines, as they were written then.
    PointsEntry.objects.filter(volunteer=vol.v).delete()
    Volunteer.objects.filter(pk=vol.v.pk).update(points_balance=2)
    for i, s in enumerate(Signup.objects.filter(volunteer=vol.v).order_by("id")):
        PointsEntry.objects.create(volunteer=vol.v, delta=1, accrued=1, balance_after=i + 1, kind=PointsKind.EARN,
                                   source=PointsSource.ACTIVITY, signup=s, activity=s.activity, note="旧规则")
    out = StringIO()
    call_command("reconcile_activity_points", stdout=out)
    assert "应计 1，已计 2，差 -1" in out.getvalue() and _balance(vol.v) == 2  # a dry run writes nothing
    call_command("reconcile_activity_points", "--apply", stdout=out)
    assert _balance(vol.v) == 1 and _ledger(vol.v)[-1] == ("reversal", -1, -1)
    out = StringIO()
    call_command("reconcile_activity_points", "--apply", stdout=out)  # twice: nothing more
    assert out.getvalue().strip() == "0 名志愿者已更正。"
    assert PointsEntry.objects.filter(volunteer=vol.v).aggregate(s=Sum("delta"))["s"] == _balance(vol.v)
    assert signup.minutes_credited == 30
