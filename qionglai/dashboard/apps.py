from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "qionglai.dashboard"
    label = "dashboard"
    verbose_name = "数据看板"

    def ready(self) -> None:
        from . import permissions  # noqa: F401 - declares the dashboard's actions
