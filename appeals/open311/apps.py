from django.apps import AppConfig


class Open311Config(AppConfig):
    """Open311 GeoReport v2 (DESIGN.md §8): a public surface over the appeals services."""

    name = "appeals.open311"
    label = "open311"
    verbose_name = "Open311 接口"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from appeals.open311 import checks  # noqa: F401  (registers the start-up checks)
