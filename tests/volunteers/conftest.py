import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import ResidentFactory, UserFactory
from volunteers import services
from volunteers.models import Activity, Reward


@pytest.fixture(autouse=True)
def _volunteer_api_urls(settings):
    settings.ROOT_URLCONF = "tests.volunteers.urls"


@pytest.fixture
def vol(city):
    """The city plus: ``volunteer`` as a volunteer of 甲一社区, a resident volunteer there,
    a volunteer of 乙一社区 with an account (other_volunteer), an open activity tomorrow
    organised by community_worker, and a reward."""
    v = services.volunteer_register(community=city.comm_a, user=city.users.volunteer, name="周敏", skills=["errands"])
    resident = ResidentFactory(household=city.household_a2, name="李秀英")
    v2 = services.volunteer_register(community=city.comm_a, resident=resident)
    other_user = UserFactory(username="other_volunteer")
    v_other = services.volunteer_register(community=city.comm_c, user=other_user, name="钱伟")
    activity = make_activity(city.comm_a, city.users.community_worker, capacity_max=3)
    reward = Reward.objects.create(name="洗衣液", cost=10, stock=5, community=city.comm_a)
    city.v, city.v2, city.v_other, city.other_user = v, v2, v_other, other_user
    city.activity, city.reward = activity, reward
    return city


def make_activity(community, organiser, *, starts_in=dt.timedelta(days=1), hours=3, capacity_max=5, **extra) -> Activity:
    """An open activity; ``starts_in`` may be negative (an activity under way)."""
    starts_at = timezone.now() + starts_in
    return Activity.objects.create(
        community=community, organiser=organiser, title=extra.pop("title", "楼道清洁"), place="和平里1号楼",
        starts_at=starts_at, ends_at=starts_at + dt.timedelta(hours=hours), capacity_max=capacity_max, **extra,
    )


def sign_up_and_start(activity, volunteer, *, started_ago=dt.timedelta(hours=1)):
    """Sign up while the activity is in the future, then move it to have started ``started_ago``."""
    services.signup_create(activity=activity, volunteer=volunteer)
    length = activity.ends_at - activity.starts_at
    activity.starts_at = timezone.now() - started_ago
    activity.ends_at = activity.starts_at + length
    Activity.objects.filter(pk=activity.pk).update(starts_at=activity.starts_at, ends_at=activity.ends_at)
    return activity
