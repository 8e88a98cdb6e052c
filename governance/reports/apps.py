from django.apps import AppConfig

from governance.kernel import export_writers


class ReportsConfig(AppConfig):
    name = "governance.reports"
    label = "reports"
    verbose_name = "报表"

    def ready(self) -> None:
        # The export jobs' writers of the reports' lists of appeals (issue 23).
        from governance.reports.supervision import supervision_export_job

        export_writers.register("supervision", supervision_export_job)
