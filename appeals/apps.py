from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = "群众诉求"

    def ready(self):
        # The reference-data cache listens to saves and deletes in every process.
        from appeals import catalog  # noqa: F401
