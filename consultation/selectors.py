"""Read queries shared by pages, API and dashboard; each decides its joins once."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from . import permissions
from .models import (
    Attachment,
    Invitee,
    Meeting,
    Motion,
    MotionStatus,
    Objection,
    PublicityWindow,
    Rating,
    Speech,
    StepKind,
    SupervisionCheck,
    TemplateStep,
    Topic,
    TopicEvent,
    TopicStatus,
)


def topic_list_for(*, user) -> QuerySet[Topic]:
    qs = Topic.objects.select_related("current_step", "community", "compound", "proposer", "micro_grid")
    return permissions.view_scope(qs, user)


def with_detail(queryset: QuerySet[Topic]) -> QuerySet[Topic]:
    """Everything the topic detail shows, in a fixed number of queries whatever the history."""
    return queryset.select_related("template", "resolution", "implementation__supervisor").prefetch_related(
        Prefetch("template__steps", queryset=TemplateStep.objects.order_by("order")),
        "resolution__outcomes",
        Prefetch(
            "publicity",
            queryset=PublicityWindow.objects.select_related("step")
            .annotate(objection_count=Count("objections"))
            .order_by("-opened_at", "-id"),
        ),
        Prefetch(
            "attachments", queryset=Attachment.objects.select_related("step").order_by("uploaded_at", "id")
        ),
        Prefetch("supervision_checks", queryset=SupervisionCheck.objects.select_related("supervisor")),
        Prefetch(
            "ratings",
            queryset=Rating.objects.filter(round=F("topic__round")).select_related("rater"),
            to_attr="current_ratings",
        ),
    )


def topic_board_for(*, user, community=None) -> list[dict]:
    """The staff board: active topics in columns by step (step names from the default
    template's order; a community template with renamed steps groups by step kind)."""
    qs = topic_list_for(user=user).filter(status=TopicStatus.ACTIVE)
    if community is not None:
        qs = qs.filter(community=community)
    columns = {kind: {"kind": kind, "label": StepKind(kind).label, "topics": []} for kind in StepKind.values}
    for topic in qs.order_by("step_started_at", "id")[:500]:
        columns[topic.current_step.kind]["topics"].append(topic)
    return list(columns.values())


def topic_events(topic: Topic) -> QuerySet[TopicEvent]:
    return topic.events.select_related("actor", "step", "to_step").order_by("at", "id")


def topic_steps(topic: Topic) -> list[TemplateStep]:
    return list(topic.template.steps.order_by("order"))


def meeting_list_for(*, user) -> QuerySet[Meeting]:
    qs = Meeting.objects.select_related("topic", "topic__community", "topic__current_step")
    return permissions.view_scope(qs, user, "topic__path")


def meeting_detail(meeting: Meeting) -> Meeting:
    return (
        Meeting.objects.select_related("topic", "topic__current_step", "topic__community")
        .prefetch_related(
            Prefetch("invitees", queryset=Invitee.objects.select_related("user").order_by("id")),
            "options",
            Prefetch("motions", queryset=Motion.objects.prefetch_related("choices").order_by("opened_at")),
            Prefetch("speeches", queryset=Speech.objects.select_related("invitee")),
        )
        .get(pk=meeting.pk)
    )


def motion_list_for(*, user) -> QuerySet[Motion]:
    qs = Motion.objects.select_related("topic", "topic__community", "meeting").prefetch_related("choices")
    return permissions.view_scope(qs, user, "topic__path")


def open_motions_for_voter(*, user) -> QuerySet[Motion]:
    """Motions the user could vote on now: open, at a meeting where the user signed in."""
    return Motion.objects.filter(
        status=MotionStatus.OPEN,
        meeting__invitees__user=user,
        meeting__invitees__signed_in_at__isnull=False,
    ).select_related("topic")


def publicity_list_for(*, user, open_only: bool = False) -> QuerySet[PublicityWindow]:
    qs = PublicityWindow.objects.select_related("topic", "topic__community", "step").annotate(
        objection_count=Count("objections")
    )
    if open_only:
        qs = qs.filter(closed_at__isnull=True, ends_at__gt=Now())
    return permissions.view_scope(qs, user, "topic__path").order_by("-opened_at", "-id")


def objections_for(window: PublicityWindow) -> QuerySet[Objection]:
    return window.objections.select_related("author", "replied_by").order_by("created_at", "id")


def counts_by_step(*, user) -> dict[str, int]:
    """Topics by step kind for the dashboard (active topics only)."""
    rows = (
        topic_list_for(user=user)
        .filter(status=TopicStatus.ACTIVE)
        .values("current_step__kind")
        .annotate(n=Count("id"))
    )
    return {r["current_step__kind"]: r["n"] for r in rows}


def topic_filter(qs: QuerySet[Topic], *, step: str = "", status: str = "", q: str = "") -> QuerySet[Topic]:
    if step:
        qs = qs.filter(current_step__kind=step)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(description__icontains=q))
    return qs


def public_notices(*, community, recent_days: int = 30) -> QuerySet[PublicityWindow]:
    """A community's notices as posted on its board: those running now and those ended in
    the last `recent_days` — for everyone, signed in or not (公示 is public by nature)."""
    since = timezone.now() - timedelta(days=recent_days)
    return (
        PublicityWindow.objects.filter(topic__community=community)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=since))
        .select_related("topic", "step")
        .annotate(objection_count=Count("objections"))
        .order_by(F("closed_at").desc(nulls_first=True), "-opened_at", "-id")
    )
