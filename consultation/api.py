"""REST API for 邻聚小圆桌 under /api/v1/consultation/. Reads are scoped through the access
module (list querysets filtered by path, so nothing outside the user's grants appears);
every write calls a service, which checks the grant on the object itself."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from projects.models import Community, Compound
from qionglai.core.api import ActionPermission
from qionglai.users import access

from . import selectors, serializers, services
from .models import Invitee, Meeting, MotionChoice, PublicityWindow


def _input(serializer_class, request):
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


class ConsultationViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, ActionPermission]
    read_action = "consultation.view"


class TopicViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ConsultationViewSet):
    filterset_fields = ["status", "community", "scope", "source"]

    def get_queryset(self):
        qs = selectors.topic_list_for(user=self.request.user).order_by("-created_at", "-id")
        step = self.request.query_params.get("step", "")
        return selectors.topic_filter(qs, step=step)

    def get_serializer_class(self):
        return serializers.TopicDetailSerializer if self.action == "retrieve" else serializers.TopicSerializer

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
        return Response(serializers.TopicDetailSerializer(topic).data)

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
        return Response(serializers.TopicDetailSerializer(topic).data)


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

    @extend_schema(request=serializers.SignInInput, responses=None)
    @action(detail=True, methods=["post"])
    def speak(self, request, pk=None):
        data = _input(serializers.SignInInput, request)
        speech = services.speech_start(
            actor=request.user, invitee=self._invitee(self.get_object(), data["invitee"])
        )
        return Response(
            {"id": speech.pk, "limit_seconds": speech.limit_seconds, "started_at": speech.started_at}
        )

    @extend_schema(request=serializers.OptionInput, responses=serializers.OptionSerializer)
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

    @extend_schema(responses=None)
    @action(detail=True, methods=["get"])
    def count(self, request, pk=None):
        return Response(services.live_count(self.get_object()))

    @extend_schema(request=serializers.VoteInput, responses=None)
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


class PublicityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ConsultationViewSet):
    serializer_class = serializers.PublicitySerializer

    def get_queryset(self):
        open_only = self.request.query_params.get("open") in ("1", "true")
        return selectors.publicity_list_for(user=self.request.user, open_only=open_only)


class ObjectionViewSet(ConsultationViewSet):
    serializer_class = serializers.ObjectionSerializer

    @extend_schema(request=serializers.ObjectionInput, responses=serializers.ObjectionSerializer)
    def create(self, request):
        data = _input(serializers.ObjectionInput, request)
        windows = access.scope(
            PublicityWindow.objects.select_related("topic"), request.user, "consultation.view", "topic__path"
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
