from types import SimpleNamespace

from django.utils import timezone

from volunteers import demo
from volunteers.enums import SignupStatus
from volunteers.models import Activity, PointsEntry, Reward, Signup, Volunteer


def test_demo_step_builds_a_usable_community_and_is_idempotent(city):
    for _ in range(2):
        demo.seed(SimpleNamespace(stdout=None))  # no territory: finds the community worker's community
    me = Volunteer.objects.get(user=city.users.volunteer)
    assert me.community_id == city.comm_a.code
    assert me.registrations.filter(year=timezone.localdate().year).exists()
    assert Activity.objects.filter(community=city.comm_a).count() == 4
    now = timezone.now()
    today = Activity.objects.get(starts_at__lte=now, ends_at__gt=now)
    assert Signup.objects.get(activity=today, volunteer=me).status == SignupStatus.SIGNED_UP
    assert Signup.objects.filter(status=SignupStatus.ATTENDED, minutes_credited__gt=0).exists()
    assert Activity.objects.filter(status="open", starts_at__gt=now).exists()
    assert Reward.objects.filter(stock__gt=0).count() == 5
    me.refresh_from_db()
    assert me.points_balance == sum(PointsEntry.objects.filter(volunteer=me).values_list("delta", flat=True)) > 0
