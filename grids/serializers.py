from __future__ import annotations

from django.utils import timezone, translation
from rest_framework import serializers

from .models import (
    Category,
    Channel,
    Grid,
    Incident,
    IncidentEvent,
    Level,
    Satisfaction,
    Status,
    Tier,
    Urgency,
)


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent.code", default=None, read_only=True)
    department = serializers.CharField(source="department.code", default=None, read_only=True)

    class Meta:
        model = Category
        fields = [
            "code",
            "name",
            "parent",
            "department",
            "standard_code",
            "duplicate_radius_m",
            "duplicate_window_days",
        ]


class GridSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    mode_display = serializers.CharField(source="get_mode_display", read_only=True)

    class Meta:
        model = Grid
        fields = [
            "id",
            "kind",
            "kind_display",
            "code",
            "name",
            "path",
            "community",
            "parent",
            "households",
            "mode",
            "mode_display",
        ]


class IncidentSerializer(serializers.ModelSerializer):
    """What a list row or detail shows. Personal data (the reporter's identity) only as an id
    the viewer already may resolve; no phone numbers leave here."""

    category = serializers.CharField(source="category.code")
    category_name = serializers.CharField(source="category.name")
    status_display = serializers.CharField(source="get_status_display")
    urgency_display = serializers.CharField(source="get_urgency_display")
    tier_display = serializers.CharField(source="get_tier_display")
    level_display = serializers.CharField(source="get_level_display")
    micro_grid_name = serializers.CharField(source="micro_grid.name", default="")
    community_name = serializers.CharField(source="community.name")
    department = serializers.CharField(source="assigned_department.code", default=None)

    class Meta:
        model = Incident
        fields = [
            "id",
            "status",
            "status_display",
            "category",
            "category_name",
            "urgency",
            "urgency_display",
            "tier",
            "tier_display",
            "level",
            "level_display",
            "supervised",
            "channel",
            "description",
            "address",
            "lat",
            "lng",
            "micro_grid",
            "micro_grid_name",
            "community",
            "community_name",
            "path",
            "department",
            "due_at",
            "due_stage",
            "accept_due",
            "resolve_due",
            "accepted_on_time",
            "resolved_on_time",
            "result",
            "satisfaction",
            "me_too_count",
            "reopen_count",
            "created_at",
        ]
        read_only_fields = fields


# The incident list's own columns: no joins, the names come from selectors.list_names().
LIST_COLUMNS = (
    "id",
    "status",
    "category_id",
    "urgency",
    "tier",
    "level",
    "supervised",
    "channel",
    "description",
    "address",
    "lat",
    "lng",
    "micro_grid_id",
    "community_id",
    "path",
    "assigned_department_id",
    "due_at",
    "due_stage",
    "accept_due",
    "resolve_due",
    "accepted_on_time",
    "resolved_on_time",
    "result",
    "satisfaction",
    "me_too_count",
    "reopen_count",
    "created_at",
)
_CHOICES = {"status": Status, "urgency": Urgency, "tier": Tier, "level": Level}
_labels: dict[str, dict[str, dict]] = {}


def _display(language: str) -> dict[str, dict]:
    """The choice labels in `language`, translated once per process and language."""
    if language not in _labels:
        _labels[language] = {
            name: {value: str(label) for value, label in choices.choices}
            for name, choices in _CHOICES.items()
        }
    return _labels[language]


def _when(value, zone):
    # as DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as "Z"
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def incident_list_rows(rows: list[dict], names) -> list[dict]:
    """incident_list_tuples() for dicts of LIST_COLUMNS (the ORM's `.values()`)."""
    return incident_list_tuples([tuple(r[c] for c in LIST_COLUMNS) for r in rows], names)


def incident_list_tuples(rows: list[tuple], names) -> list[dict]:
    """List rows (tuples of LIST_COLUMNS, in that order, as the keyset statement returns
    them) in exactly IncidentSerializer's shape: the same fields, order and formats
    (tests/grids/test_list_rows.py compares the two). A serializer per row cost more than the
    rest of the request together (field lookups, lazy labels, get_FOO_display per field); this
    is a dict per row, from the row as fetched (a dict per row in between was 0.1 ms of a
    20-row page). `names`: selectors.list_names()."""
    labels = _display(translation.get_language() or "")
    status_l, urgency_l, tier_l, level_l = (
        labels["status"],
        labels["urgency"],
        labels["tier"],
        labels["level"],
    )
    zone = timezone.get_current_timezone()
    categories, communities = names.categories, names.communities
    grids, departments = names.grids, names.departments
    out = []
    # the names below are LIST_COLUMNS, in its order
    for (
        pk,
        status,
        category_id,
        urgency,
        tier,
        level,
        supervised,
        channel,
        description,
        address,
        lat,
        lng,
        micro_grid_id,
        community_id,
        path,
        assigned_department_id,
        due_at,
        due_stage,
        accept_due,
        resolve_due,
        accepted_on_time,
        resolved_on_time,
        result,
        satisfaction,
        me_too_count,
        reopen_count,
        created_at,
    ) in rows:
        category = categories[category_id]
        out.append(
            {
                "id": pk,
                "status": status,
                "status_display": status_l.get(status, status),
                "category": category[0],
                "category_name": category[1],
                "urgency": urgency,
                "urgency_display": urgency_l.get(urgency, urgency),
                "tier": tier,
                "tier_display": tier_l.get(tier, tier),
                "level": level,
                "level_display": level_l.get(level, str(level)),
                "supervised": supervised,
                "channel": channel,
                "description": description,
                "address": address,
                "lat": None if lat is None else f"{lat:f}",
                "lng": None if lng is None else f"{lng:f}",
                "micro_grid": micro_grid_id,
                "micro_grid_name": "" if micro_grid_id is None else grids[micro_grid_id],
                "community": community_id,
                "community_name": communities[community_id],
                "path": path,
                "department": None if assigned_department_id is None else departments[assigned_department_id],
                "due_at": _when(due_at, zone),
                "due_stage": due_stage,
                "accept_due": _when(accept_due, zone),
                "resolve_due": _when(resolve_due, zone),
                "accepted_on_time": accepted_on_time,
                "resolved_on_time": resolved_on_time,
                "result": result,
                "satisfaction": satisfaction,
                "me_too_count": me_too_count,
                "reopen_count": reopen_count,
                "created_at": _when(created_at, zone),
            }
        )
    return out


class EventSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display")
    actor_name = serializers.CharField(source="actor.display_name", default="系统")

    class Meta:
        model = IncidentEvent
        fields = [
            "id",
            "kind",
            "kind_display",
            "from_status",
            "to_status",
            "note",
            "on_time",
            "actor_name",
            "at",
        ]


class PhotoListField(serializers.ListField):
    child = serializers.FileField(allow_empty_file=True)

    def get_value(self, dictionary):
        if hasattr(dictionary, "getlist"):
            return dictionary.getlist(self.field_name) or serializers.empty
        return dictionary.get(self.field_name, serializers.empty)


class ReportInput(serializers.Serializer):
    category = serializers.CharField(max_length=32)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.BLUE)
    description = serializers.CharField(max_length=2000)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    lat = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True, default=None
    )
    lng = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True, default=None
    )
    micro_grid = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=2**63 - 1
    )
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.ONLINE)
    photos = PhotoListField(required=False, default=list, max_length=9)
    me_too_of = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=2**63 - 1
    )


class AcceptInput(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices)
    category = serializers.CharField(max_length=32, required=False)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class DispatchInput(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    department = serializers.CharField(max_length=32, required=False, allow_blank=True)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ExtensionInput(serializers.Serializer):
    hours = serializers.IntegerField(min_value=1, max_value=720)
    reason = serializers.CharField(max_length=300)


class ExtensionDecisionInput(serializers.Serializer):
    extension = serializers.IntegerField()
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ResolveInput(serializers.Serializer):
    result = serializers.CharField(max_length=2000)
    photos = PhotoListField(required=False, default=list, max_length=9)


class VerifyInput(serializers.Serializer):
    passed = serializers.BooleanField(default=True)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class EvaluateInput(serializers.Serializer):
    satisfaction = serializers.ChoiceField(
        choices=[c for c in Satisfaction.choices if c[0] != Satisfaction.NONE]
    )
    comment = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class DuplicateQuery(serializers.Serializer):
    category = serializers.CharField(max_length=32)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)


class DuplicateHintSerializer(serializers.Serializer):
    """A nearby incident of the same category: enough to press "me too", no personal data (the
    description only when the caller may open the incident)."""

    id = serializers.IntegerField()
    category = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    status_display = serializers.CharField()
    distance_m = serializers.IntegerField()
    me_too_count = serializers.IntegerField()


class ReporterContactSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    address = serializers.CharField()
    lat = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    lng = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
