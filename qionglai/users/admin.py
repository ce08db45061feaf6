from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import second_factor
from .models import ApiToken, Grant, User

# Second-factor devices are not edited as raw rows: a reset goes through otp_device_reset
# (another admin, audited) from the user list below.
for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class GrantInline(admin.TabularInline):
    model = Grant
    extra = 0
    fields = ["role", "path", "post", "unit", "retired_at"]


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
    list_display = ["user", "role", "path", "post", "unit", "retired_at"]
    list_filter = ["role", "post"]
    search_fields = ["user__username", "user__real_name", "path", "unit"]
    raw_id_fields = ["user"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "label", "created_at", "expires_at", "revoked_at"]
    search_fields = ["user__username", "prefix"]
    readonly_fields = ["user", "digest", "prefix", "label", "created_at", "expires_at", "revoked_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
