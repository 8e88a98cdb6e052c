from django.apps import AppConfig


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = "辖区与人口"
