from django.apps import AppConfig


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = "网格治理"

    def ready(self) -> None:
        # registers the Celery tasks in every process (web too), so services can send them by
        # name after commit without importing grids.tasks, which imports the services
        from . import (
            permissions,  # noqa: F401 - declares the app's actions with the access module
            tasks,  # noqa: F401
        )
