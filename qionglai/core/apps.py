from axes import apps as apps_axes
from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "qionglai.core"
    label = "core"
    verbose_name = "平台基础"


class AxesConfig(apps_axes.AppConfig):
    """django-axes under a Chinese section title in the admin (it declares no verbose_name, so
    the admin showed "Axes"); its field and model names come from locale/zh_Hans."""

    verbose_name = "登录安全（失败锁定）"
