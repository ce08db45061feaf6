from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q


class PhoneOrUsernameBackend(ModelBackend):
    """Signs a user in by username or by the mobile number on their account."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        model = get_user_model()
        user = model.objects.filter(Q(username=username) | Q(phone=username)).order_by("id").first()
        if user is None:
            model().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    # Admin rights come from access.py (an admin grant), not from Django's permission table,
    # so the admin pages ask the same module as every other page.
    def has_perm(self, user_obj, perm, obj=None):
        from . import access

        if user_obj.is_active and access.is_admin(user_obj):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        from . import access

        if user_obj.is_active and access.is_admin(user_obj):
            return True
        return super().has_module_perms(user_obj, app_label)
