"""API shapes. Inputs are plain serializers validated here and handed to services; outputs
show only the public parts to residents (no phone numbers, no who-voted-how)."""

from __future__ import annotations

from rest_framework import serializers

from .models import (
    Invitee,
    InviteeCategory,
    Meeting,
    Motion,
    MotionChoice,
    Objection,
    Option,
    PublicityWindow,
    Topic,
)


class StepSerializer(serializers.Serializer):
    code = serializers.CharField()
    kind = serializers.CharField()
    name = serializers.CharField()
    order = serializers.IntegerField()


class TopicSerializer(serializers.ModelSerializer):
    current_step = StepSerializer(read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    source_display = serializers.CharField(source="get_source_display", read_only=True)
    scope_display = serializers.CharField(source="get_scope_display", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)
    place_name = serializers.CharField(read_only=True)
    proposer_name = serializers.CharField(source="proposer.display_name", read_only=True)

    class Meta:
        model = Topic
        fields = [
            "id",
            "title",
            "description",
            "source",
            "source_display",
            "scope",
            "scope_display",
            "community",
            "community_name",
            "compound",
            "micro_grid",
            "place_name",
            "path",
            "proposer_name",
            "current_step",
            "step_started_at",
            "status",
            "status_display",
            "status_reason",
            "merged_into",
            "round",
            "created_at",
            "closed_at",
        ]


class RequirementSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    met = serializers.BooleanField()
    detail = serializers.CharField()


class TopicDetailSerializer(TopicSerializer):
    steps = serializers.SerializerMethodField()
    requirements = serializers.SerializerMethodField()

    class Meta(TopicSerializer.Meta):
        fields = [*TopicSerializer.Meta.fields, "steps", "requirements"]

    def get_steps(self, obj) -> list[dict]:
        return StepSerializer(obj.template.steps.order_by("order"), many=True).data

    def get_requirements(self, obj) -> list[dict]:
        from .services import step_requirements

        if obj.status != "active":
            return []
        return RequirementSerializer(step_requirements(obj), many=True).data


class ProposeInput(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    description = serializers.CharField()
    community = serializers.IntegerField(required=False)
    compound = serializers.IntegerField(required=False)
    micro_grid = serializers.IntegerField(required=False)


class AdvanceInput(serializers.Serializer):
    step = serializers.CharField(help_text="当前步骤编码：步骤须依次完成，与当前步骤不符即拒绝")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReviewInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["accept", "merge", "reject", "incident"])
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    merge_into = serializers.IntegerField(required=False)
    incident_category = serializers.CharField(required=False)
    incident_urgency = serializers.ChoiceField(choices=["red", "orange", "yellow", "blue"], default="yellow")


class InviteeSerializer(serializers.ModelSerializer):
    category_display = serializers.CharField(source="get_category_display", read_only=True)
    present = serializers.BooleanField(read_only=True)

    class Meta:
        model = Invitee
        fields = ["id", "name", "category", "category_display", "present", "signed_in_at"]


class OptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Option
        fields = ["id", "text", "tabled_by", "created_at"]


class ChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = MotionChoice
        fields = ["id", "kind", "label", "votes"]


class MotionSerializer(serializers.ModelSerializer):
    choices = ChoiceSerializer(many=True, read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Motion
        fields = [
            "id",
            "topic",
            "meeting",
            "title",
            "secret",
            "status",
            "status_display",
            "opened_at",
            "closed_at",
            "invited_count",
            "present_count",
            "cast_count",
            "abstain_count",
            "quorum_met",
            "passed",
            "choices",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.status == "open":  # no split while open: the live count endpoint decides
            for choice in data["choices"]:
                choice["votes"] = None
        return data


class MeetingSerializer(serializers.ModelSerializer):
    invitees = InviteeSerializer(many=True, read_only=True)
    options = OptionSerializer(many=True, read_only=True)
    motions = MotionSerializer(many=True, read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "topic",
            "title",
            "location",
            "scheduled_at",
            "agenda",
            "status",
            "status_display",
            "minutes",
            "default_speech_seconds",
            "opened_at",
            "closed_at",
            "invitees",
            "options",
            "motions",
        ]


class MeetingInviteeInput(serializers.Serializer):
    user = serializers.IntegerField(required=False)
    name = serializers.CharField(required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(choices=InviteeCategory.choices)


class MeetingInput(serializers.Serializer):
    topic = serializers.IntegerField()
    title = serializers.CharField(max_length=120)
    scheduled_at = serializers.DateTimeField()
    location = serializers.CharField(required=False, allow_blank=True, default="")
    agenda = serializers.CharField(required=False, allow_blank=True, default="")
    default_speech_seconds = serializers.IntegerField(default=180)
    invitees = MeetingInviteeInput(many=True, required=False, default=list)


class SignInInput(serializers.Serializer):
    invitee = serializers.IntegerField()


class OptionInput(serializers.Serializer):
    text = serializers.CharField(max_length=300)
    invitee = serializers.IntegerField(required=False)


class MinutesInput(serializers.Serializer):
    minutes = serializers.CharField(allow_blank=True)


class MotionInput(serializers.Serializer):
    meeting = serializers.IntegerField()
    title = serializers.CharField(max_length=200)
    secret = serializers.BooleanField(default=False)
    option_ids = serializers.ListField(child=serializers.IntegerField(), required=False)


class VoteInput(serializers.Serializer):
    choice = serializers.IntegerField()


class PublicitySerializer(serializers.ModelSerializer):
    step_name = serializers.CharField(source="step.name", read_only=True)
    topic_title = serializers.CharField(source="topic.title", read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    objection_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = PublicityWindow
        fields = [
            "id",
            "topic",
            "topic_title",
            "step_name",
            "title",
            "content",
            "opened_at",
            "ends_at",
            "closed_at",
            "is_open",
            "objection_count",
        ]


class ObjectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Objection
        fields = ["id", "window", "text", "created_at", "reply", "replied_at"]


class ObjectionInput(serializers.Serializer):
    window = serializers.IntegerField()
    text = serializers.CharField(max_length=2000)


class RatingInput(serializers.Serializer):
    topic = serializers.IntegerField()
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class RatingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    topic = serializers.IntegerField(source="topic_id")
    round = serializers.IntegerField()
    score = serializers.IntegerField()
    comment = serializers.CharField()
