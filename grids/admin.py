"""Admin for the grid registry and the data the city edits: categories, SLA policies, the
holiday calendar, Open311 keys. Incidents are read-only here: they change only through the
services (an admin edit would bypass the event log)."""

from django.contrib import admin, messages

from qionglai.users.admin_base import ReadOnlyAdmin

from .models import (
    CalendarDay,
    Category,
    DoctorPairing,
    DoctorTeam,
    DoctorTeamMember,
    Escalation,
    Grid,
    Incident,
    IncidentEvent,
    ModeSwitch,
    Open311Client,
    PartyGroup,
    PartyOrganization,
    RosterEntry,
    SlaPolicy,
)


@admin.register(Grid)
class GridAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "path", "households", "mode"]
    list_filter = ["kind", "mode"]
    search_fields = ["name", "path"]
    raw_id_fields = ["community", "parent"]
    readonly_fields = ["mode"]  # switched through the page, which logs the reason


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "department", "standard_code", "duplicate_radius_m", "active"]
    list_filter = ["active", "parent"]
    search_fields = ["code", "name"]


def _warn_calendar_short(request) -> None:
    from . import sla

    warning = sla.coverage_warning()
    if warning:
        messages.warning(request, warning)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "accept_amount",
        "accept_unit",
        "resolve_amount",
        "resolve_unit",
        "verify_amount",
        "verify_unit",
        "evaluation_amount",
        "evaluation_unit",
        "max_extensions",
    ]
    list_filter = ["mode", "urgency"]

    def changelist_view(self, request, extra_context=None):
        _warn_calendar_short(request)  # working-day policies are only as good as the calendar
        return super().changelist_view(request, extra_context)


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Filled by `manage.py load_holidays`; editable here. Warns while the next 60 days are
    not covered (deadlines in working days would count bare weekdays)."""

    list_display = ["date", "kind", "name"]
    list_filter = ["kind"]
    date_hierarchy = "date"

    def changelist_view(self, request, extra_context=None):
        _warn_calendar_short(request)
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        from . import sla

        sla.forget_coverage()


class MemberInline(admin.TabularInline):
    model = DoctorTeamMember
    extra = 0


@admin.register(DoctorTeam)
class DoctorTeamAdmin(admin.ModelAdmin):
    list_display = ["name", "institution", "path"]
    search_fields = ["name"]
    inlines = [MemberInline]


@admin.register(DoctorPairing)
class DoctorPairingAdmin(admin.ModelAdmin):
    list_display = ["team", "grid", "started_on", "ended_on"]
    raw_id_fields = ["team", "grid"]


@admin.register(PartyOrganization)
class PartyOrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "path", "secretary"]
    search_fields = ["name", "path"]
    raw_id_fields = ["grid", "secretary"]


@admin.register(PartyGroup)
class PartyGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "path", "leader"]
    search_fields = ["name", "path"]
    raw_id_fields = ["grid", "organization", "leader"]


@admin.register(RosterEntry)
class RosterEntryAdmin(admin.ModelAdmin):
    list_display = ["grid", "post", "user", "reserve_kind", "retired_at"]
    list_filter = ["post"]
    raw_id_fields = ["grid", "user"]


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "active"]
    raw_id_fields = ["user"]


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "category",
        "urgency",
        "status",
        "tier",
        "level",
        "supervised",
        "path",
        "created_at",
    ]
    list_filter = ["status", "urgency", "tier", "level", "channel"]
    search_fields = ["description", "path"]
    list_select_related = ["category"]


@admin.register(IncidentEvent)
class IncidentEventAdmin(ReadOnlyAdmin):
    list_display = ["incident", "kind", "from_status", "to_status", "actor", "at"]
    list_filter = ["kind"]


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ["incident", "stage", "level", "due_at", "at"]
    list_filter = ["stage", "level"]


@admin.register(ModeSwitch)
class ModeSwitchAdmin(ReadOnlyAdmin):
    list_display = ["grid", "from_mode", "to_mode", "reason", "actor", "at"]
