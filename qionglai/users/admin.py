from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Grant, User


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


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "path", "post", "unit", "retired_at"]
    list_filter = ["role", "post"]
    search_fields = ["user__username", "user__real_name", "path", "unit"]
    raw_id_fields = ["user"]
