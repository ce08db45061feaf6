"""REST API for 邻聚小圆桌 under /api/v1/consultation/. Reads are scoped through the access
module (list querysets filtered by path, so nothing outside the user's grants appears);
every write calls a service, which checks the grant on the object itself."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import fields as drf_fields
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from projects.models import Community, Compound
from qionglai.core.api import ActionPermission
from qionglai.users import access

from . import permissions, selectors, serializers, services
from .models import (
    Invitee,
    Meeting,
    MotionChoice,
    Objection,
    Outcome,
    ProcedureTemplate,
    PublicityWindow,
    Speech,
    TemplateStep,
)

MSG_NO_USER = "找不到该用户"
UPLOAD_PARSERS = [MultiPartParser, FormParser]


def _input(serializer_class, request):
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


def _user(pk, field: str):
    """A user named by id in a request body; the service decides whether they may take part."""
    if pk is None:
        return None
    user = get_user_model().objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise ValidationError({field: MSG_NO_USER})
    return user


class ConsultationViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, ActionPermission]
    read_action = "consultation.view"


class TopicViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ConsultationViewSet):
    filterset_fields = ["status", "community", "scope", "source"]

    def get_queryset(self):
        qs = selectors.topic_list_for(user=self.request.user).order_by("-created_at", "-id")
        if self.action == "retrieve":
            qs = selectors.with_detail(qs)
        step = self.request.query_params.get("step", "")
        return selectors.topic_filter(qs, step=step)

    def get_serializer_class(self):
        return serializers.TopicDetailSerializer if self.action == "retrieve" else serializers.TopicSerializer

    def _detail(self, topic) -> Response:
        """The topic as the detail shows it after a change (re-read: services return bare rows)."""
        topic = selectors.with_detail(selectors.topic_list_for(user=self.request.user)).get(pk=topic.pk)
        context = self.get_serializer_context()
        return Response(serializers.TopicDetailSerializer(topic, context=context).data)

    @extend_schema(request=serializers.ProposeInput, responses=serializers.TopicSerializer)
    def create(self, request):
        data = _input(serializers.ProposeInput, request)
        place = {}
        if data.get("micro_grid"):
            from grids.models import Grid

            place["micro_grid"] = get_object_or_404(Grid, pk=data["micro_grid"])
        elif data.get("compound"):
            place["compound"] = get_object_or_404(Compound, pk=data["compound"])
        elif data.get("community"):
            place["community"] = get_object_or_404(Community, pk=data["community"])
        topic = services.topic_propose(
            actor=request.user, title=data["title"], description=data["description"], **place
        )
        return Response(serializers.TopicSerializer(topic).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.AdvanceInput, responses=serializers.TopicDetailSerializer)
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        data = _input(serializers.AdvanceInput, request)
        topic = services.topic_advance(
            actor=request.user, topic=self.get_object(), step_code=data["step"], note=data["note"]
        )
        return self._detail(topic)

    @extend_schema(request=serializers.ReviewInput, responses=serializers.TopicDetailSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        data = _input(serializers.ReviewInput, request)
        topic = self.get_object()
        merge_into = None
        if data.get("merge_into"):
            merge_into = get_object_or_404(selectors.topic_list_for(user=request.user), pk=data["merge_into"])
        topic = services.topic_review(
            actor=request.user,
            topic=topic,
            decision=data["decision"],
            reason=data["reason"],
            merge_into=merge_into,
            incident_category=data.get("incident_category"),
            incident_urgency=data["incident_urgency"],
        )
        return self._detail(topic)

    @extend_schema(request=serializers.PublicityInput, responses={201: serializers.PublicitySerializer})
    @action(detail=True, methods=["post"])
    def publicity(self, request, pk=None):
        data = _input(serializers.PublicityInput, request)
        window = services.publicity_open(
            actor=request.user, topic=self.get_object(), title=data["title"], content=data["content"]
        )
        window = selectors.publicity_list_for(user=request.user).get(pk=window.pk)
        return Response(serializers.PublicitySerializer(window).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.ResolutionInput, responses=serializers.ResolutionSerializer)
    @action(detail=True, methods=["post"])
    def resolution(self, request, pk=None):
        """Records the resolution, or replaces it until its notice is published."""
        data = _input(serializers.ResolutionInput, request)
        resolution = services.resolution_record(
            actor=request.user, topic=self.get_object(), text=data["text"], outcomes=data["outcomes"]
        )
        return Response(serializers.ResolutionSerializer(resolution).data)

    @extend_schema(request=serializers.ImplementationInput, responses=serializers.ImplementationSerializer)
    @action(detail=True, methods=["post"])
    def implementation(self, request, pk=None):
        data = _input(serializers.ImplementationInput, request)
        topic = self.get_object()
        implementation = services.implementation_set(
            actor=request.user,
            topic=topic,
            owner=data["owner"],
            budget=data["budget"],
            deadline=data["deadline"],
            supervisor=_user(data["supervisor"], "supervisor"),
        )
        context = self.get_serializer_context()
        return Response(serializers.ImplementationSerializer(implementation, context=context).data)

    @extend_schema(request=serializers.ProgressInput, responses=serializers.ImplementationSerializer)
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None):
        data = _input(serializers.ProgressInput, request)
        implementation = services.implementation_progress(
            actor=request.user, topic=self.get_object(), progress=data["progress"], note=data["note"]
        )
        context = self.get_serializer_context()
        return Response(serializers.ImplementationSerializer(implementation, context=context).data)

    @extend_schema(
        request=serializers.SupervisionInput, responses={201: serializers.SupervisionCheckSerializer}
    )
    @action(detail=True, methods=["post"])
    def supervision(self, request, pk=None):
        """The named resident supervisor's check (during 实施 or 监督)."""
        data = _input(serializers.SupervisionInput, request)
        check = services.supervision_record(
            actor=request.user, topic=self.get_object(), note=data["note"], satisfactory=data["satisfactory"]
        )
        return Response(serializers.SupervisionCheckSerializer(check).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.TopicEvaluateInput, responses=serializers.TopicDetailSerializer)
    @action(detail=True, methods=["post"])
    def evaluate(self, request, pk=None):
        data = _input(serializers.TopicEvaluateInput, request)
        topic = services.topic_evaluate(
            actor=request.user, topic=self.get_object(), decision=data["decision"], note=data["note"]
        )
        return self._detail(topic)

    @extend_schema(request=serializers.EndInput, responses=serializers.TopicDetailSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """Ends a topic whose latest vote failed (instead of voting again)."""
        data = _input(serializers.EndInput, request)
        topic = services.topic_end_not_passed(
            actor=request.user, topic=self.get_object(), reason=data["reason"]
        )
        return self._detail(topic)


class OutcomeViewSet(mixins.RetrieveModelMixin, ConsultationViewSet):
    serializer_class = serializers.OutcomeSerializer

    def get_queryset(self):
        qs = Outcome.objects.select_related("resolution__topic")
        return permissions.view_scope(qs, self.request.user, "resolution__topic__path")

    @extend_schema(request=serializers.NoteInput, responses=serializers.OutcomeSerializer)
    @action(detail=True, methods=["post"])
    def execute(self, request, pk=None):
        """Carries out one resolution item during 实施, once: running it again changes nothing."""
        data = _input(serializers.NoteInput, request)
        outcome = services.outcome_execute(actor=request.user, outcome=self.get_object(), note=data["note"])
        return Response(serializers.OutcomeSerializer(outcome).data)


class MeetingViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, ConsultationViewSet):
    serializer_class = serializers.MeetingSerializer
    filterset_fields = ["topic", "status"]

    def get_queryset(self):
        return (
            selectors.meeting_list_for(user=self.request.user)
            .prefetch_related("invitees", "options", "motions__choices")
            .order_by("-scheduled_at", "-id")
        )

    @extend_schema(request=serializers.MeetingInput, responses=serializers.MeetingSerializer)
    def create(self, request):
        data = _input(serializers.MeetingInput, request)
        topic = get_object_or_404(selectors.topic_list_for(user=request.user), pk=data.pop("topic"))
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.in_bulk([i["user"] for i in data["invitees"] if i.get("user")])
        invitees = [
            {"user": users.get(i.get("user")), "name": i.get("name", ""), "category": i["category"]}
            for i in data.pop("invitees")
        ]
        meeting = services.meeting_schedule(actor=request.user, topic=topic, invitees=invitees, **data)
        return Response(
            serializers.MeetingSerializer(selectors.meeting_detail(meeting)).data,
            status=status.HTTP_201_CREATED,
        )

    def _invitee(self, meeting: Meeting, pk) -> Invitee:
        return get_object_or_404(Invitee, pk=pk, meeting=meeting)

    @extend_schema(request=None, responses=serializers.MeetingSerializer)
    @action(detail=True, methods=["post"])
    def open(self, request, pk=None):
        meeting = services.meeting_open(actor=request.user, meeting=self.get_object())
        return Response(serializers.MeetingSerializer(selectors.meeting_detail(meeting)).data)

    @extend_schema(request=serializers.SignInInput, responses=serializers.InviteeSerializer)
    @action(detail=True, methods=["post"], url_path="sign-in")
    def sign_in(self, request, pk=None):
        data = _input(serializers.SignInInput, request)
        invitee = services.meeting_sign_in(
            actor=request.user, invitee=self._invitee(self.get_object(), data["invitee"])
        )
        return Response(serializers.InviteeSerializer(invitee).data)

    @extend_schema(
        request=serializers.SignInInput,
        responses=inline_serializer(
            "SpeechStarted",
            {
                "id": drf_fields.IntegerField(),
                "limit_seconds": drf_fields.IntegerField(),
                "started_at": drf_fields.DateTimeField(),
            },
        ),
    )
    @action(detail=True, methods=["post"])
    def speak(self, request, pk=None):
        data = _input(serializers.SignInInput, request)
        speech = services.speech_start(
            actor=request.user, invitee=self._invitee(self.get_object(), data["invitee"])
        )
        return Response(
            {"id": speech.pk, "limit_seconds": speech.limit_seconds, "started_at": speech.started_at}
        )

    @extend_schema(request=serializers.OptionInput, responses={201: serializers.OptionSerializer})
    @action(detail=True, methods=["post"])
    def options(self, request, pk=None):
        data = _input(serializers.OptionInput, request)
        meeting = self.get_object()
        invitee = self._invitee(meeting, data["invitee"]) if data.get("invitee") else None
        option = services.option_table(
            actor=request.user, meeting=meeting, text=data["text"], invitee=invitee
        )
        return Response(serializers.OptionSerializer(option).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.MinutesInput, responses=serializers.MeetingSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        data = _input(serializers.MinutesInput, request)
        meeting = services.meeting_close(
            actor=request.user, meeting=self.get_object(), minutes=data["minutes"]
        )
        return Response(serializers.MeetingSerializer(selectors.meeting_detail(meeting)).data)

    @extend_schema(request=serializers.InviteInput, responses={201: serializers.InviteeSerializer})
    @action(detail=True, methods=["post"])
    def invite(self, request, pk=None):
        data = _input(serializers.InviteInput, request)
        meeting = self.get_object()
        invitee = services.meeting_invite(
            actor=request.user,
            meeting=meeting,
            category=data["category"],
            user=_user(data["user"], "user"),
            name=data["name"],
        )
        return Response(serializers.InviteeSerializer(invitee).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.EndSpeechInput, responses=serializers.SpeechSerializer)
    @action(detail=True, methods=["post"], url_path="end-speech")
    def end_speech(self, request, pk=None):
        data = _input(serializers.EndSpeechInput, request)
        meeting = self.get_object()
        speech = get_object_or_404(
            Speech.objects.select_related("meeting__topic"), pk=data["speech"], meeting=meeting
        )
        speech = services.speech_end(actor=request.user, speech=speech, summary=data["summary"])
        return Response(serializers.SpeechSerializer(speech).data)

    @extend_schema(request=serializers.MinutesInput, responses=serializers.MeetingSerializer)
    @action(detail=True, methods=["post"])
    def minutes(self, request, pk=None):
        """Saves the minutes; they stay editable until the topic leaves the vote step."""
        data = _input(serializers.MinutesInput, request)
        meeting = services.meeting_save_minutes(
            actor=request.user, meeting=self.get_object(), minutes=data["minutes"]
        )
        return Response(serializers.MeetingSerializer(selectors.meeting_detail(meeting)).data)

    @extend_schema(request=serializers.PhotoInput, responses={201: serializers.AttachmentSerializer})
    @action(detail=True, methods=["post"], parser_classes=UPLOAD_PARSERS)
    def attachments(self, request, pk=None):
        """A photo for the meeting (sign-in sheet, minutes); re-encoded, EXIF stripped."""
        data = _input(serializers.PhotoInput, request)
        attachment = services.meeting_attach(
            actor=request.user, meeting=self.get_object(), upload=data["image"], caption=data["caption"]
        )
        return Response(serializers.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class MotionViewSet(mixins.RetrieveModelMixin, ConsultationViewSet):
    serializer_class = serializers.MotionSerializer

    def get_queryset(self):
        return selectors.motion_list_for(user=self.request.user)

    @extend_schema(request=serializers.MotionInput, responses=serializers.MotionSerializer)
    def create(self, request):
        data = _input(serializers.MotionInput, request)
        meeting = get_object_or_404(selectors.meeting_list_for(user=request.user), pk=data["meeting"])
        motion = services.motion_open(
            actor=request.user,
            meeting=meeting,
            title=data["title"],
            secret=data["secret"],
            option_ids=data.get("option_ids"),
        )
        return Response(serializers.MotionSerializer(motion).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses=inline_serializer(
            "LiveCount",
            {
                "motion": drf_fields.IntegerField(),
                "status": drf_fields.CharField(),
                "method": drf_fields.CharField(),
                "present": drf_fields.IntegerField(),
                "voted": drf_fields.IntegerField(),
                "proxied": drf_fields.IntegerField(),
                "choices": drf_fields.ListField(child=drf_fields.DictField()),
                "passed": drf_fields.BooleanField(required=False, allow_null=True),
                "quorum_met": drf_fields.BooleanField(required=False, allow_null=True),
            },
        )
    )
    @action(detail=True, methods=["get"])
    def count(self, request, pk=None):
        return Response(services.live_count(self.get_object()))

    @extend_schema(
        request=serializers.VoteInput,
        responses={201: inline_serializer("VoteCast", {"voted": drf_fields.BooleanField()})},
    )
    @action(detail=True, methods=["post"])
    def vote(self, request, pk=None):
        data = _input(serializers.VoteInput, request)
        motion = self.get_object()
        choice = get_object_or_404(MotionChoice, pk=data["choice"], motion=motion)
        services.vote_cast(actor=request.user, motion=motion, choice=choice)
        return Response({"voted": True}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=serializers.MotionSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        motion = services.motion_close(actor=request.user, motion=self.get_object())
        return Response(serializers.MotionSerializer(motion).data)

    @extend_schema(
        request=serializers.ProxyVoteInput,
        responses={
            201: inline_serializer(
                "ProxyVoteCast", {"voted": drf_fields.BooleanField(), "proxied": drf_fields.BooleanField()}
            )
        },
    )
    @action(detail=True, methods=["post"])
    def proxy(self, request, pk=None):
        """代投: the host casts a present member's ballot (open motions only)."""
        data = _input(serializers.ProxyVoteInput, request)
        motion = self.get_object()
        invitee = get_object_or_404(Invitee, pk=data["invitee"], meeting_id=motion.meeting_id)
        choice = get_object_or_404(MotionChoice, pk=data["choice"], motion=motion)
        services.vote_cast_proxy(actor=request.user, motion=motion, invitee=invitee, choice=choice)
        return Response({"voted": True, "proxied": True}, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.HandsInput, responses=serializers.MotionSerializer)
    @action(detail=True, methods=["post"])
    def hands(self, request, pk=None):
        """举手表决: the counted hands close the motion."""
        data = _input(serializers.HandsInput, request)
        counts = {}
        for key, value in data["counts"].items():
            if not str(key).isdigit():
                raise ValidationError({"counts": "请按表决选项填写人数"})
            counts[int(key)] = value
        motion = services.motion_record_hands(actor=request.user, motion=self.get_object(), counts=counts)
        return Response(serializers.MotionSerializer(motion).data)


class PublicityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ConsultationViewSet):
    def get_queryset(self):
        open_only = self.request.query_params.get("open") in ("1", "true")
        qs = selectors.publicity_list_for(user=self.request.user, open_only=open_only)
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                Prefetch(
                    "objections",
                    queryset=Objection.objects.select_related("author").order_by("created_at", "id"),
                )
            )
        return qs

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.PublicityDetailSerializer
        return serializers.PublicitySerializer

    @extend_schema(request=serializers.PhotoInput, responses={201: serializers.AttachmentSerializer})
    @action(detail=True, methods=["post"], parser_classes=UPLOAD_PARSERS)
    def photos(self, request, pk=None):
        """公示照片: the notice as posted on the community board."""
        data = _input(serializers.PhotoInput, request)
        attachment = services.publicity_add_photo(
            actor=request.user, window=self.get_object(), upload=data["image"], caption=data["caption"]
        )
        return Response(serializers.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class ObjectionViewSet(ConsultationViewSet):
    serializer_class = serializers.ObjectionSerializer

    def get_queryset(self):
        qs = Objection.objects.select_related("window__topic", "window__step")
        return permissions.view_scope(qs, self.request.user, "window__topic__path")

    @extend_schema(request=serializers.ReplyInput, responses=serializers.ObjectionSerializer)
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        """Answers an objection, once; the author is notified."""
        data = _input(serializers.ReplyInput, request)
        objection = services.objection_reply(
            actor=request.user, objection=self.get_object(), reply=data["reply"]
        )
        return Response(serializers.ObjectionSerializer(objection).data)

    @extend_schema(request=serializers.ObjectionInput, responses=serializers.ObjectionSerializer)
    def create(self, request):
        data = _input(serializers.ObjectionInput, request)
        windows = permissions.view_scope(
            PublicityWindow.objects.select_related("topic"), request.user, "topic__path"
        )
        window = get_object_or_404(windows, pk=data["window"])
        objection = services.objection_lodge(actor=request.user, window=window, text=data["text"])
        return Response(serializers.ObjectionSerializer(objection).data, status=status.HTTP_201_CREATED)


class RatingViewSet(ConsultationViewSet):
    serializer_class = serializers.RatingSerializer

    @extend_schema(request=serializers.RatingInput, responses=serializers.RatingSerializer)
    def create(self, request):
        data = _input(serializers.RatingInput, request)
        topic = get_object_or_404(selectors.topic_list_for(user=request.user), pk=data["topic"])
        rating = services.rating_submit(
            actor=request.user, topic=topic, score=data["score"], comment=data["comment"]
        )
        return Response(serializers.RatingSerializer(rating).data, status=status.HTTP_201_CREATED)


class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ConsultationViewSet):
    """Procedure templates: the current default and the templates of communities the user can
    see (every version, since running topics keep theirs)."""

    serializer_class = serializers.ProcedureTemplateSerializer
    filterset_fields = ["community", "is_current"]

    def get_queryset(self):
        visible = Q(is_default=True, is_current=True)
        community = access.scope_q(self.request.user, "consultation.view", "path")
        if community is not None:
            visible |= Q(community__isnull=False) & community
        return (
            ProcedureTemplate.objects.filter(visible)
            .select_related("community")
            .prefetch_related(Prefetch("steps", queryset=TemplateStep.objects.order_by("order")))
            .annotate(topic_count=Count("topics"))
            .order_by("family", "-version")
        )

    def _template(self, template, code=status.HTTP_200_OK) -> Response:
        template = self.get_queryset().get(pk=template.pk)
        return Response(serializers.ProcedureTemplateSerializer(template).data, status=code)

    @extend_schema(
        request=serializers.TemplateCloneInput, responses={201: serializers.ProcedureTemplateSerializer}
    )
    @action(detail=True, methods=["post"])
    def clone(self, request, pk=None):
        """Makes this template the community's own current template (its earlier one stays for
        the topics that run on it)."""
        data = _input(serializers.TemplateCloneInput, request)
        source = self.get_object()
        communities = access.scope(Community.objects.all(), request.user, "consultation.view")
        community = get_object_or_404(communities, pk=data["community"])
        template = services.template_clone(
            actor=request.user, source=source, community=community, name=data["name"]
        )
        return self._template(template, status.HTTP_201_CREATED)

    @extend_schema(request=serializers.TemplateUpdateInput, responses=serializers.ProcedureTemplateSerializer)
    def partial_update(self, request, pk=None):
        """Edits the name and steps at once. If topics run on this version, the edits land on a
        new version (returned), which becomes current; running topics keep theirs."""
        data = _input(serializers.TemplateUpdateInput, request)
        template = services.template_update(
            actor=request.user, template=self.get_object(), steps=data["steps"], name=data.get("name")
        )
        return self._template(template)
