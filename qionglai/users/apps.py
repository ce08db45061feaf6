from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "qionglai.users"
    label = "users"
    verbose_name = "用户与权限"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import schema  # noqa: F401 - registers the OpenAPI authenticator descriptions
        from .identity import connect_signals

        user_logged_in.connect(_count_login, dispatch_uid="users.count_login")
        connect_signals()  # the identity cache forgets what a saved/deleted row changes


def _count_login(sender, request, user, **kwargs) -> None:
    from .second_factor import count_login

    count_login(user=user)
