from django.contrib import admin

from .models import AuditEvent, Notification, OwedNotice


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is append-only."""

    list_display = ["at", "actor", "action", "target_type", "target_id", "path", "summary"]
    list_filter = ["action", "target_type"]
    search_fields = ["path", "target_id", "summary", "actor__username"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "title", "read_at"]
    search_fields = ["user__username", "title"]
    raw_id_fields = ["user"]


@admin.register(OwedNotice)
class OwedNoticeAdmin(admin.ModelAdmin):
    """Read-only: the outbox shows what is owed and what failed; the sweep does the delivering."""

    list_display = ["created_at", "user", "key", "delivered_at", "mail_pending", "attempts", "last_error"]
    list_filter = ["mail_pending"]
    search_fields = ["user__username", "key"]
    raw_id_fields = ["user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
