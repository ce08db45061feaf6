from django.apps import AppConfig


class ConsultationConfig(AppConfig):
    name = "consultation"
    verbose_name = "邻聚小圆桌"
