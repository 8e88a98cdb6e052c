from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = "群众诉求"

    def ready(self):
        # The reference-data cache listens to saves and deletes in every process.
        # After the catalog: a calendar change re-computes the open deadlines of its year,
        # queued after the commit that also renews the catalog's token.
        from appeals import (
            catalog,  # noqa: F401
            channels,
            recompute,  # noqa: F401
        )
        from appeals.suggest import tasks as suggest_tasks  # noqa: F401  (the nightly training)
        from appeals.visits import tasks as visit_tasks  # noqa: F401  (the reminders' beat task)

        # The outbox's channels appeals owns: the residents' SMS and the sweeps' digests.
        channels.register()
