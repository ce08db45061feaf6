from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "qionglai.core"
    label = "core"
    verbose_name = "平台基础"
