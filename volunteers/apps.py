from django.apps import AppConfig

from appeals.hooks import CLAIMED_APPEAL_CLOSED
from governance.kernel import hooks
from grids.hooks import RESIDENT_REMOVING


class VolunteersConfig(AppConfig):
    name = "volunteers"
    verbose_name = "志愿者与党员"

    def ready(self) -> None:
        # The points of a claimed service appeal are awarded when its evaluation closes it
        # (appeals does not import volunteers: it fires the hook).
        from volunteers.services import _award_on_claimed_appeal_closed, _refuse_removing_a_volunteer_without_account

        hooks.register(CLAIMED_APPEAL_CLOSED, _award_on_claimed_appeal_closed)
        # A volunteer is a resident, an account or both: removing the resident of one
        # without an account would leave a volunteer that is neither (a CHECK of the table).
        hooks.register(RESIDENT_REMOVING, _refuse_removing_a_volunteer_without_account)
