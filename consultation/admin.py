from django.contrib import admin

from qionglai.users.admin_base import ReadOnlyAdmin

from .models import ProcedureTemplate, PublicityWindow, TemplateStep, Topic, TopicEvent


class StepInline(admin.TabularInline):
    model = TemplateStep
    extra = 0
    fields = ["order", "code", "kind", "name", "actor_role", "actor_label", "required_records", "min_days",
              "quorum_ratio", "quorum_strict", "pass_basis", "pass_ratio", "pass_strict"]  # fmt: skip

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # A version topics run on is frozen; edits through the pages make a new version.
        return obj is None or not obj.topics.exists()


@admin.register(ProcedureTemplate)
class ProcedureTemplateAdmin(admin.ModelAdmin):
    # `note` is for administrators (e.g. the default template awaits the city's own text);
    # the pages never show it to residents or staff.
    list_display = ["name", "version", "community", "is_default", "is_current", "note", "created_at"]
    list_filter = ["is_default", "is_current"]
    readonly_fields = ["family", "version", "community", "path", "is_default", "is_current", "cloned_from"]
    inlines = [StepInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Topic)
class TopicAdmin(ReadOnlyAdmin):
    list_display = ["title", "community", "current_step", "status", "created_at"]
    list_filter = ["status", "current_step__kind"]
    search_fields = ["title", "path"]


@admin.register(TopicEvent)
class TopicEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "topic", "kind", "step", "actor"]
    list_filter = ["kind"]


@admin.register(PublicityWindow)
class PublicityAdmin(ReadOnlyAdmin):
    list_display = ["title", "topic", "opened_at", "ends_at", "closed_at"]
