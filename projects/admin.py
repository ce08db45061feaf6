from django.contrib import admin

from qionglai.users.admin_base import ReadOnlyAdmin

from .models import (
    Community,
    CommunityClass,
    CommunityPlan,
    Compound,
    CompoundProblem,
    Department,
    DepartmentDuty,
    FundEntry,
    MicroFund,
    RenewalMilestone,
    RenewalProject,
    Scene,
    SharedSupermarket,
    SupermarketMonth,
    Town,
)


class NoDeleteAdmin(admin.ModelAdmin):
    """Places are retired (停用时间), not deleted: incidents and ledgers point at them. They are
    created through the pages, the API or the Excel import (which compute the path); the admin
    edits their attributes, each change audited."""

    readonly_fields = ["code", "path"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # each change is audited by the admin site (qionglai/users/admin_base.py)


@admin.register(Town)
class TownAdmin(NoDeleteAdmin):
    list_display = ["path", "name", "kind", "retired_at"]
    search_fields = ["name", "path"]


@admin.register(CommunityClass)
class CommunityClassAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "order"]
    list_editable = ["order"]


@admin.register(Community)
class CommunityAdmin(NoDeleteAdmin):
    list_display = [
        "path",
        "name",
        "town",
        "kind",
        "community_class",
        "is_demonstration",
        "is_future_park",
        "households",
    ]
    list_filter = ["town", "kind", "is_demonstration", "is_future_park", "community_class__parent"]
    search_fields = ["name", "path"]


@admin.register(Compound)
class CompoundAdmin(NoDeleteAdmin):
    list_display = [
        "path",
        "name",
        "community",
        "kind",
        "governance_mode",
        "households",
        "renovated",
        "is_smart",
    ]
    list_filter = ["kind", "governance_mode", "renovated", "is_smart"]
    search_fields = ["name", "path", "property_company"]
    raw_id_fields = ["community"]


@admin.register(Scene)
class SceneAdmin(admin.ModelAdmin):
    list_display = ["order", "code", "name"]


@admin.register(CommunityPlan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["community", "year", "phase"]
    list_filter = ["year", "phase", "scenes"]
    filter_horizontal = ["scenes"]
    raw_id_fields = ["community"]
    readonly_fields = ["path"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(DepartmentDuty)
class DutyAdmin(admin.ModelAdmin):
    list_display = ["department", "matter", "legal_basis"]
    list_filter = ["department"]
    search_fields = ["matter", "legal_basis"]


@admin.register(CompoundProblem)
class ProblemAdmin(admin.ModelAdmin):
    list_display = ["title", "compound", "status", "owner_department", "created_at"]
    list_filter = ["status", "source"]
    search_fields = ["title", "path"]
    raw_id_fields = ["compound", "raised_by"]
    readonly_fields = ["path"]


class MilestoneInline(admin.TabularInline):
    model = RenewalMilestone
    extra = 0


@admin.register(RenewalProject)
class RenewalAdmin(admin.ModelAdmin):
    list_display = ["name", "community", "kind", "scene", "status", "budget"]
    list_filter = ["kind", "status", "scene"]
    search_fields = ["name", "path"]
    raw_id_fields = ["community", "compound"]
    readonly_fields = ["status", "path", "source_ref"]
    inlines = [MilestoneInline]


@admin.register(MicroFund)
class FundAdmin(ReadOnlyAdmin):
    list_display = ["name", "community", "balance"]
    search_fields = ["name", "path"]


@admin.register(FundEntry)
class FundEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "fund", "kind", "amount", "balance_after", "approval_ref"]
    list_filter = ["kind"]


@admin.register(SharedSupermarket)
class SupermarketAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "community",
        "member_households",
        "contribution_basis",
        "contribution_rate",
    ]
    raw_id_fields = ["community"]
    readonly_fields = ["path"]


@admin.register(SupermarketMonth)
class SupermarketMonthAdmin(ReadOnlyAdmin):
    list_display = ["supermarket", "month", "revenue", "net_profit", "contribution"]
