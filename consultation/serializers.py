"""API shapes. Inputs are plain serializers validated here and handed to services; outputs
show only the public parts to residents (no phone numbers, no who-voted-how)."""

from __future__ import annotations

from django.db.models import Count
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from projects.models import RenewalKind
from qionglai.users import access

from .models import (
    Attachment,
    Implementation,
    Invitee,
    InviteeCategory,
    Meeting,
    Motion,
    MotionChoice,
    Objection,
    Option,
    Outcome,
    OutcomeKind,
    ProcedureTemplate,
    PublicityWindow,
    Rating,
    Resolution,
    Speech,
    SupervisionCheck,
    TemplateStep,
    Topic,
)


def _viewer(serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


def _can_manage(serializer, path: str) -> bool:
    """Names of residents (objection authors, raters) are shown only to those who run the topic."""
    user = _viewer(serializer)
    return user is not None and access.can(user, "consultation.manage", path)


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


class PublicitySerializer(serializers.ModelSerializer):
    step = serializers.CharField(source="step.code", read_only=True)
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
            "step",
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


class WindowObjectionSerializer(ObjectionSerializer):
    """An objection under its notice: the author is named only to those who run the topic."""

    author_name = serializers.SerializerMethodField()

    class Meta(ObjectionSerializer.Meta):
        fields = [*ObjectionSerializer.Meta.fields, "author_name"]

    def get_author_name(self, obj) -> str | None:
        return obj.author.display_name if _can_manage(self, obj.window.topic.path) else None


class PublicityDetailSerializer(PublicitySerializer):
    objections = WindowObjectionSerializer(many=True, read_only=True)

    class Meta(PublicitySerializer.Meta):
        fields = [*PublicitySerializer.Meta.fields, "objections"]


class OutcomeSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Outcome
        fields = [
            "id",
            "kind",
            "kind_display",
            "title",
            "amount",
            "renewal_kind",
            "problem",
            "incident_category",
            "status",
            "status_display",
            "result_ref",
            "executed_at",
        ]


class ResolutionSerializer(serializers.ModelSerializer):
    outcomes = OutcomeSerializer(many=True, read_only=True)

    class Meta:
        model = Resolution
        fields = ["id", "text", "motion", "created_at", "outcomes"]


class ImplementationSerializer(serializers.ModelSerializer):
    supervisor_name = serializers.SerializerMethodField()
    you_supervise = serializers.SerializerMethodField()

    class Meta:
        model = Implementation
        fields = ["owner", "budget", "deadline", "progress", "supervisor_name", "you_supervise", "updated_at"]

    def get_supervisor_name(self, obj) -> str:
        return obj.supervisor.display_name if obj.supervisor_id else ""

    def get_you_supervise(self, obj) -> bool:
        user = _viewer(self)
        return bool(user is not None and obj.supervisor_id and obj.supervisor_id == user.pk)


class SupervisionCheckSerializer(serializers.ModelSerializer):
    supervisor_name = serializers.CharField(source="supervisor.display_name", read_only=True)

    class Meta:
        model = SupervisionCheck
        fields = ["id", "note", "satisfactory", "at", "supervisor_name"]


class TopicRatingSerializer(serializers.ModelSerializer):
    """A rating as others see it: who rated is shown only to those who run the topic."""

    rater_name = serializers.SerializerMethodField()

    class Meta:
        model = Rating
        fields = ["id", "round", "score", "comment", "at", "rater_name"]

    def get_rater_name(self, obj) -> str | None:
        return obj.rater.display_name if _can_manage(self, obj.topic.path) else None


class AttachmentSerializer(serializers.ModelSerializer):
    step = serializers.CharField(source="step.code", read_only=True)
    step_name = serializers.CharField(source="step.name", read_only=True)
    url = serializers.SerializerMethodField()
    thumb_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "caption", "step", "step_name", "meeting", "url", "thumb_url", "uploaded_at"]

    # Served by the page view, which checks the topic's scope (not from MEDIA_URL).
    def get_url(self, obj) -> str:
        return reverse("consultation:attachment", args=[obj.pk])

    def get_thumb_url(self, obj) -> str:
        return reverse("consultation:attachment-thumb", args=[obj.pk])


class TopicDetailSerializer(TopicSerializer):
    steps = serializers.SerializerMethodField()
    requirements = serializers.SerializerMethodField()
    resolution = ResolutionSerializer(read_only=True, allow_null=True)
    implementation = ImplementationSerializer(read_only=True, allow_null=True)
    supervision_checks = SupervisionCheckSerializer(many=True, read_only=True)
    ratings = serializers.SerializerMethodField()
    publicity = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta(TopicSerializer.Meta):
        fields = [
            *TopicSerializer.Meta.fields,
            "steps",
            "requirements",
            "resolution",
            "implementation",
            "supervision_checks",
            "ratings",
            "publicity",
            "attachments",
        ]

    def get_steps(self, obj) -> list[dict]:
        return StepSerializer(obj.template.steps.all(), many=True).data  # Meta.ordering: by order

    def get_requirements(self, obj) -> list[dict]:
        from .services import step_requirements

        if obj.status != "active":
            return []
        return RequirementSerializer(step_requirements(obj), many=True).data

    @extend_schema_field(TopicRatingSerializer(many=True))
    def get_ratings(self, obj):
        """The current round's ratings (an earlier round was answered by reopening)."""
        ratings = getattr(obj, "current_ratings", None)
        if ratings is None:
            ratings = obj.ratings.filter(round=obj.round).select_related("rater")
        for rating in ratings:
            rating.topic = obj
        return TopicRatingSerializer(ratings, many=True, context=self.context).data

    @extend_schema_field(PublicitySerializer(many=True))
    def get_publicity(self, obj):
        windows = obj.publicity.all()
        if "publicity" not in getattr(obj, "_prefetched_objects_cache", {}):
            windows = windows.select_related("step").annotate(objection_count=Count("objections"))
        return PublicitySerializer(windows, many=True, context=self.context).data


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
    voting = serializers.BooleanField(
        read_only=True, help_text="有表决权；列席人员为 false，不计入应到与实到"
    )

    class Meta:
        model = Invitee
        fields = ["id", "name", "category", "category_display", "voting", "present", "signed_in_at"]


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
            "method",
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


class ProxyVoteInput(serializers.Serializer):
    invitee = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="到会的表决成员（参会人员 id）"
    )
    choice = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class HandsInput(serializers.Serializer):
    counts = serializers.DictField(
        child=serializers.IntegerField(min_value=0),
        help_text="举手人数：表决选项 id → 人数",
    )


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


class SpeechSerializer(serializers.ModelSerializer):
    invitee_name = serializers.CharField(source="invitee.name", read_only=True)

    class Meta:
        model = Speech
        fields = [
            "id",
            "invitee",
            "invitee_name",
            "limit_seconds",
            "started_at",
            "ended_at",
            "cut_off",
            "summary",
        ]


class TemplateStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateStep
        exclude = ["template"]  # every field of the step, including any added later


class ProcedureTemplateSerializer(serializers.ModelSerializer):
    community_name = serializers.CharField(source="community.name", read_only=True, allow_null=True)
    topic_count = serializers.IntegerField(
        read_only=True, help_text="运行在此版本上的议题数；大于 0 时修改会生成新版本"
    )
    steps = TemplateStepSerializer(many=True, read_only=True)

    class Meta:
        model = ProcedureTemplate
        fields = [
            "id",
            "family",
            "version",
            "name",
            "note",
            "community",
            "community_name",
            "is_default",
            "is_current",
            "cloned_from",
            "created_at",
            "topic_count",
            "steps",
        ]


# Inputs of the later steps: shapes and sizes are checked here, the rules by the services.


def _text(max_length: int, **kw):
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, default="", **kw)


class PublicityInput(serializers.Serializer):
    title = _text(150, help_text="可不填：默认为「步骤名：议题」")
    content = serializers.CharField()


class OutcomeInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=OutcomeKind.choices)
    title = _text(150)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    renewal_kind = serializers.ChoiceField(choices=RenewalKind.choices, required=False, allow_blank=True)
    problem = serializers.IntegerField(
        required=False, allow_null=True, help_text="本社区小区问题清单中的问题"
    )
    incident_category = _text(32, help_text="事件类别编码，可不填（其他事项）")


class ResolutionInput(serializers.Serializer):
    text = serializers.CharField()
    outcomes = OutcomeInput(many=True, required=False, default=list)


class ImplementationInput(serializers.Serializer):
    owner = serializers.CharField(max_length=100)
    budget = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    deadline = serializers.DateField()
    supervisor = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="居民监督员（本社区居民或党员）的用户编号"
    )


class ProgressInput(serializers.Serializer):
    progress = serializers.IntegerField(min_value=0, max_value=100)
    note = _text(500)


class SupervisionInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000)
    satisfactory = serializers.BooleanField(default=True)


class TopicEvaluateInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[("close", "办结"), ("reopen", "重新实施")])
    note = _text(500, help_text="重新实施时必填")


class EndInput(serializers.Serializer):
    reason = _text(500)


class NoteInput(serializers.Serializer):
    note = _text(500)


class InviteInput(serializers.Serializer):
    category = serializers.ChoiceField(choices=InviteeCategory.choices)
    user = serializers.IntegerField(required=False, allow_null=True, default=None)
    name = _text(50, help_text="不选用户时填写列席人员姓名")


class EndSpeechInput(serializers.Serializer):
    speech = serializers.IntegerField()
    summary = _text(500)


class PhotoInput(serializers.Serializer):
    image = serializers.FileField(
        allow_empty_file=True,  # an empty file gets clean_image's own message
        error_messages={
            "required": "请选择要上传的照片",
            "invalid": "请选择要上传的照片",
            "no_name": "请选择要上传的照片",
        },
    )
    caption = _text(150)


class ReplyInput(serializers.Serializer):
    reply = serializers.CharField(max_length=2000)


class TemplateCloneInput(serializers.Serializer):
    community = serializers.IntegerField()
    name = _text(100, help_text="可不填：默认为「社区名议事规则」")


class TemplateUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    steps = serializers.DictField(
        child=serializers.DictField(),
        required=False,
        default=dict,
        help_text='步骤编码 → 要修改的字段与新值，如 {"vote": {"pass_ratio": "0.6"}}',
    )
