"""Concurrent sign-ups and redemptions on PostgreSQL: threads with their own connections."""

import pytest
from django.db.models import Sum

from governance.kernel.errors import ApplicationError
from tests.factories import UserFactory
from tests.helpers import run_at_once
from tests.volunteers.conftest import make_activity
from volunteers import services
from volunteers.enums import SignupStatus
from volunteers.models import Activity, PointsEntry, Reward, Signup, Volunteer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run_at_once(calls) -> tuple[int, list[Exception]]:
    """Start every call together; returns (successes, errors)."""
    results, errors = run_at_once(calls, expected=(ApplicationError,))
    return len(results), errors


def test_concurrent_sign_ups_never_overbook(city):
    activity = make_activity(city.comm_a, city.users.community_worker, capacity_max=3)
    volunteers = [services.volunteer_register(community=city.comm_a, user=UserFactory()) for _ in range(8)]
    ok, errors = _run_at_once([lambda v=v: services.signup_create(activity=activity, volunteer=v) for v in volunteers])
    assert ok == 3 and len(errors) == 5
    assert all("名额已满" in e.message for e in errors)
    assert Activity.objects.get(pk=activity.pk).signed_up_count == 3
    assert Signup.objects.filter(activity=activity, status=SignupStatus.SIGNED_UP).count() == 3


def test_the_same_volunteer_signing_up_twice_at_once_takes_one_place(city):
    activity = make_activity(city.comm_a, city.users.community_worker, capacity_max=5)
    v = services.volunteer_register(community=city.comm_a, user=UserFactory())
    ok, errors = _run_at_once([lambda: services.signup_create(activity=activity, volunteer=v) for _ in range(4)])
    assert ok == 1 and len(errors) == 3
    assert Activity.objects.get(pk=activity.pk).signed_up_count == 1


def test_concurrent_redemptions_never_overdraw(city):
    v = services.volunteer_register(community=city.comm_a, user=UserFactory())
    services.points_adjust(volunteer=v, delta=35, note="结转", actor=city.users.community_worker)
    reward = Reward.objects.create(name="食用油", cost=10, stock=100)
    ok, errors = _run_at_once([lambda: services.reward_redeem(volunteer=v, reward=reward) for _ in range(8)])
    v.refresh_from_db()
    assert ok == 3 and v.points_balance == 5
    assert PointsEntry.objects.filter(volunteer=v).aggregate(s=Sum("delta"))["s"] == v.points_balance
    assert Reward.objects.get(pk=reward.pk).stock == 97


def test_concurrent_redemptions_never_oversell(city):
    reward = Reward.objects.create(name="公园年票", cost=10, stock=2)
    volunteers = []
    for _ in range(6):
        v = services.volunteer_register(community=city.comm_a, user=UserFactory())
        services.points_adjust(volunteer=v, delta=20, note="结转", actor=city.users.community_worker)
        volunteers.append(v)
    ok, errors = _run_at_once([lambda v=v: services.reward_redeem(volunteer=v, reward=reward) for v in volunteers])
    assert ok == 2 and all("已兑完" in e.message for e in errors)
    assert Reward.objects.get(pk=reward.pk).stock == 0
    for v in Volunteer.objects.filter(pk__in=[v.pk for v in volunteers]):
        assert v.points_balance >= 0
        assert PointsEntry.objects.filter(volunteer=v).aggregate(s=Sum("delta"))["s"] == v.points_balance


def test_concurrent_check_outs_of_one_volunteer_earn_the_lifetime_points_once(city):
    """Four 15-minute activities checked out at the same moment: 60 minutes → 1 point,
    whichever order the check-outs commit in (each settles after the others it sees)."""
    import datetime as dt

    from tests.volunteers.conftest import sign_up_and_start

    v = services.volunteer_register(community=city.comm_a, user=UserFactory())
    activities = []
    for i in range(4):
        activity = sign_up_and_start(make_activity(city.comm_a, city.users.community_worker, title=f"一刻钟{i}"), v,
                                     started_ago=dt.timedelta(hours=2))
        services.signup_check_in(activity=activity, volunteer=v, at=activity.starts_at)
        activities.append(activity)
    ok, errors = _run_at_once([
        lambda a=a: services.signup_check_out(activity=a, volunteer=v, at=a.starts_at + dt.timedelta(minutes=15))
        for a in activities
    ])
    assert ok == 4 and errors == []
    v.refresh_from_db()
    assert v.points_balance == 1
    entries = PointsEntry.objects.filter(volunteer=v)
    assert entries.count() == 4 and sorted(entries.values_list("delta", flat=True)) == [0, 0, 0, 1]
    assert entries.aggregate(s=Sum("accrued"))["s"] == entries.aggregate(s=Sum("delta"))["s"] == 1
