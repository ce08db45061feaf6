from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "points"
    verbose_name = "积分"

    def ready(self):
        from . import permissions, receivers  # noqa: F401 - declares actions, connects signal receivers
