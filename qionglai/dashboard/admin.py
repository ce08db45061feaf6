from django.contrib import admin

from .models import FillSlot, RankingRule


@admin.register(RankingRule)
class RankingRuleAdmin(admin.ModelAdmin):
    list_display = [
        "unit_kind",
        "resolve_on_time_rate",
        "satisfaction_rate",
        "accept_on_time_rate",
        "rework_rate",
        "min_cases",
    ]


@admin.register(FillSlot)
class FillSlotAdmin(admin.ModelAdmin):
    list_display = ["day", "state", "filled_at"]
    list_filter = ["state"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
