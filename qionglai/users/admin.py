from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import second_factor
from .admin_base import ReadOnlyInline
from .models import ApiToken, Grant, User
from .services import grant_give, grant_retire

# Second-factor devices are not edited as raw rows: a reset goes through otp_device_reset
# (another admin, audited) from the user list below.
for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class GrantInline(ReadOnlyInline, admin.TabularInline):
    """Shown here, given and retired on the 角色授权 page (through grant_give / grant_retire)."""

    model = Grant
    extra = 0
    fields = ["role", "path", "post", "unit", "created_at", "retired_at"]
    readonly_fields = fields


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "real_name", "phone", "is_active", "is_staff"]
    search_fields = ["username", "real_name", "phone"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("实名信息", {"fields": ("real_name", "phone")}))
    inlines = [GrantInline]
    actions = ["reset_second_factor"]

    @admin.action(description="重置动态验证码（需另一位管理员操作）")
    def reset_second_factor(self, request, queryset):
        done = 0
        for user in queryset:
            try:
                second_factor.otp_device_reset(actor=request.user, user=user)
            except PermissionDenied as error:
                self.message_user(request, f"{user}：{error}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"已重置 {done} 人的动态验证码，他们下次登录时需重新绑定。")


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    """The permission table itself: a grant is given and retired only through the services
    (audited, opening the points accounts it implies), never edited or deleted."""

    list_display = ["user", "role", "path", "post", "unit", "retired_at"]
    list_filter = ["role", "post"]
    search_fields = ["user__username", "user__real_name", "path", "unit"]
    raw_id_fields = ["user"]
    fields = ["user", "role", "path", "post", "unit"]
    actions = ["retire"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.fields, "created_at", "retired_at"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:  # nothing on a given grant is editable
            return
        data = form.cleaned_data
        try:
            given = grant_give(
                actor=request.user,
                user=data["user"],
                role=data["role"],
                path=data["path"],
                post=data.get("post") or "",
                unit=data.get("unit") or "",
            )
        except (PermissionDenied, ValidationError) as error:
            raise PermissionDenied(str(error)) from error
        obj.pk, obj.created_at = given.pk, given.created_at
        obj._state.adding = False

    @admin.action(description="撤销所选授权")
    def retire(self, request, queryset):
        for grant in queryset.filter(retired_at__isnull=True):
            grant_retire(actor=request.user, grant=grant)
        self.message_user(request, "已撤销所选授权。")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "label", "created_at", "expires_at", "revoked_at"]
    search_fields = ["user__username", "prefix"]
    readonly_fields = ["user", "digest", "prefix", "label", "created_at", "expires_at", "revoked_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
