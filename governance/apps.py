from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "人员与辖区"

    def ready(self) -> None:
        # django-axes names its app "Axes" (its models' names: locale/zh_Hans).
        from django.apps import apps

        if apps.is_installed("axes"):
            apps.get_app_config("axes").verbose_name = "登录保护"

        from django.contrib.auth.signals import user_logged_in

        from governance.kernel.middleware import stamp_session_on_login

        user_logged_in.connect(stamp_session_on_login, dispatch_uid="governance.stamp_session_on_login")

        from governance.enums import staffing_roles

        staffing_roles()  # a bad STAFFING_ROLES stops start-up

        # The staff layer delivers the outbox's inbox and email messages.
        from governance.staff.notifications import register_channels

        register_channels()

        # Every app's tasks module, imported now in every process (web, worker, beat, tests):
        # a task is then registered whatever else was imported before (Celery's own
        # autodiscovery waits for the app's first use).
        from governance.celery import app

        app.autodiscover_tasks(force=True)
