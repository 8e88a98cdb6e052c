"""Two people act on one appeal at the same moment: exactly one wins."""


import pytest

from appeals import services
from appeals.enums import AppealAction, AppealState
from appeals.models import Appeal, AppealEvent
from governance.kernel.errors import Conflict
from tests.appeals.factories import grid_category, receive
from tests.helpers import run_at_once


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sign_fors_one_winner_one_event(city):
    appeal = receive(city, category=grid_category())
    actors = [city.users.grid_worker, city.users.community_worker]
    def sign(user):
        # Each loads the same version first, then they act together.
        return (lambda: Appeal.objects.get(pk=appeal.pk),
                lambda mine: services.appeal_act(actor=user, appeal=mine, action=AppealAction.SIGN))

    won, refused = run_at_once([sign(user) for user in actors], expected=(Conflict,))
    outcomes = ["won"] * len(won) + [exc.message for exc in refused]
    assert sorted(outcomes) == sorted(["won", "该诉求已被他人处理（已变更），请刷新后重试。"])
    appeal.refresh_from_db()
    assert appeal.state == AppealState.IN_PROGRESS and appeal.version == 3
    assert AppealEvent.objects.filter(appeal=appeal, action=AppealAction.SIGN).count() == 1
