from django.apps import AppConfig


class ConsultationConfig(AppConfig):
    name = "consultation"
    verbose_name = "邻聚小圆桌"

    def ready(self):
        from projects.services import register_approval_check

        from . import permissions  # noqa: F401 - declares this app's actions
        from .services.outcomes import check_grant_approval

        # A micro-fund grant is possible only from a passed, published resolution that asked
        # for exactly that amount (design §7).
        register_approval_check("consultation.resolution", check_grant_approval)
