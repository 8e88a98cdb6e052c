from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "governance.reports"
    label = "reports"
    verbose_name = "报表"
