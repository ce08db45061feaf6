from django.contrib.admin.apps import AdminConfig as BaseAdminConfig


class AdminConfig(BaseAdminConfig):
    """django.contrib.admin with qionglai.users.admin_site.AdminSite as `admin.site`."""

    default_site = "qionglai.users.admin_site.AdminSite"
