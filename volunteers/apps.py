from django.apps import AppConfig

from appeals.hooks import CLAIMED_APPEAL_CLOSED
from governance.kernel import hooks


class VolunteersConfig(AppConfig):
    name = "volunteers"
    verbose_name = "志愿者与党员"

    def ready(self) -> None:
        # The points of a claimed service appeal are awarded when its evaluation closes it
        # (appeals does not import volunteers: it fires the hook).
        from volunteers.services import _award_on_claimed_appeal_closed

        hooks.register(CLAIMED_APPEAL_CLOSED, _award_on_claimed_appeal_closed)
