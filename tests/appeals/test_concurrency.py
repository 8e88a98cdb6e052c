"""Two people act on one appeal at the same moment: exactly one wins."""

import threading

import pytest
from django.db import connection

from appeals import services
from appeals.enums import AppealAction, AppealState
from appeals.models import Appeal, AppealEvent
from governance.kernel.errors import Conflict
from tests.appeals.factories import grid_category, receive


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sign_fors_one_winner_one_event(city):
    appeal = receive(city, category=grid_category())
    actors = [city.users.grid_worker, city.users.community_worker]
    barrier = threading.Barrier(len(actors))
    outcomes: list[str] = []

    def sign(user):
        try:
            mine = Appeal.objects.get(pk=appeal.pk)  # each loads the same version
            barrier.wait(timeout=10)
            services.appeal_act(actor=user, appeal=mine, action=AppealAction.SIGN)
            outcomes.append("won")
        except Conflict as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign, args=(user,)) for user in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == sorted(["won", "该诉求已被他人处理（已变更），请刷新后重试。"])
    appeal.refresh_from_db()
    assert appeal.state == AppealState.IN_PROGRESS and appeal.version == 3
    assert AppealEvent.objects.filter(appeal=appeal, action=AppealAction.SIGN).count() == 1
