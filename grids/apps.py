from django.apps import AppConfig


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = "网格治理"

    def ready(self) -> None:
        from . import permissions  # noqa: F401 - declares the app's actions with the access module
