from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "社区台账"

    def ready(self):
        from . import permissions  # noqa: F401 - declares this app's actions
