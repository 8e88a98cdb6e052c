from django.apps import AppConfig

from governance.kernel import export_writers


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = "辖区与人口"

    def ready(self) -> None:
        # The export job's writer of households past the inline XLSX limit (issue 23).
        from grids.io.exporting import household_export_job

        export_writers.register("households", household_export_job)
