"""Topic pages: the staff board and the residents' home, proposing, the topic page, and one
small view per step action on it (matching the API's one endpoint per action)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from projects.models import Community, Compound, CompoundProblem
from qionglai.core.errors import ApplicationError
from qionglai.core.pages import paginate, posted_id
from qionglai.users import access
from qionglai.users.models import Role

from .. import forms, permissions, selectors, services
from ..models import (
    Attachment,
    Implementation,
    MeetingStatus,
    Motion,
    MotionStatus,
    Objection,
    Outcome,
    PublicityWindow,
    Resolution,
    StepKind,
    Topic,
    TopicStatus,
)
from .common import category_for, form_errors, run, topic_action, upload


@login_required
def index(request):
    user = request.user
    if access.can_anywhere(user, "consultation.manage"):
        return board(request)
    if not access.can_anywhere(user, "consultation.view"):
        raise PermissionDenied
    topics = selectors.topic_list_for(user=user).order_by("-created_at", "-id")
    return render(
        request,
        "consultation/resident_home.html",
        {
            "notices": selectors.publicity_list_for(user=user, open_only=True)[:10],
            "votes": selectors.open_motions_for_voter(user=user),
            "page": paginate(request, topics, 15),
            "can_propose": access.can_anywhere(user, "consultation.propose"),
            "home": _home_community(user),
        },
    )


def _home_community(user) -> Community | None:
    """The community a resident belongs to (their grant may name a compound or micro-grid in it)."""
    paths = access.grant_paths(user, "consultation.view")
    if not paths:
        return None
    parts = paths[0].split(".")
    return (
        Community.objects.filter(path__in=[".".join(parts[:i]) for i in range(1, len(parts) + 1)])
        .order_by("-path")
        .first()
    )


def board(request):
    user = request.user
    community = None
    if request.GET.get("community"):
        community = get_object_or_404(
            access.scope(Community.objects.all(), user, "consultation.view"),
            pk=posted_id(request.GET["community"]),
        )
    columns = selectors.topic_board_for(user=user, community=community)
    return render(
        request,
        "consultation/board.html",
        {
            "columns": columns,
            "community": community,
            "ended": selectors.topic_list_for(user=user)
            .exclude(status=TopicStatus.ACTIVE)
            .order_by("-closed_at")[:10],
            "notices": selectors.publicity_list_for(user=user, open_only=True)[:10],
        },
    )


@login_required
def topic_new(request):
    user = request.user
    if not access.can_anywhere(user, "consultation.propose"):
        raise PermissionDenied
    communities = access.scope(Community.objects.all(), user, "consultation.propose", "path").order_by("path")
    if not communities.exists():
        # a resident of a compound: the community their compound belongs to
        compound_paths = access.grant_paths(user, "consultation.propose")
        communities = Community.objects.filter(compounds__path__in=compound_paths).distinct()
    compounds = Compound.objects.filter(community__in=communities, retired_at__isnull=True).order_by("path")
    form = forms.ProposeForm(request.POST or None, communities=communities, compounds=compounds)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        topic = run(
            request,
            services.topic_propose,
            success="议题已提交，社区将尽快审议",
            actor=user,
            title=data["title"],
            description=data["description"],
            community=data["community"],
            compound=data["compound"],
        )
        if topic:
            return redirect("consultation:topic-detail", pk=topic.pk)
    return render(request, "consultation/topic_new.html", {"form": form})


def _topic_context(request, topic: Topic, *, meeting_form=None) -> dict:
    user = request.user
    manage = access.can(user, "consultation.manage", topic.path)
    step = topic.current_step
    windows = {w.step_id: w for w in PublicityWindow.objects.filter(topic=topic).select_related("step")}
    current_window = windows.get(step.pk)
    meeting = topic.meetings.order_by("-id").first()
    resolution = Resolution.objects.filter(topic=topic).first()
    implementation = Implementation.objects.filter(topic=topic).select_related("supervisor").first()
    attachments = list(topic.attachments.order_by("uploaded_at", "id"))
    for window in windows.values():
        window.photos = [a for a in attachments if a.step_id == window.step_id and a.meeting_id is None]
    if meeting is not None:
        meeting.photos = [a for a in attachments if a.meeting_id == meeting.pk]
    ctx = {
        "topic": topic,
        "step": step,
        "steps": selectors.topic_steps(topic),
        "manage": manage,
        "requirements": services.step_requirements(topic) if topic.status == TopicStatus.ACTIVE else [],
        "events": selectors.topic_events(topic),
        "windows": sorted(windows.values(), key=lambda w: w.opened_at, reverse=True),
        "current_window": current_window,
        "meeting": meeting,
        "motions": topic.motions.prefetch_related("choices").order_by("opened_at"),
        "resolution": resolution,
        "outcomes": resolution.outcomes.all() if resolution else [],
        "implementation": implementation,
        "checks": topic.supervision_checks.select_related("supervisor"),
        "ratings": topic.ratings.filter(round=topic.round).select_related("rater"),
        "open_motion": Motion.objects.filter(topic=topic, status=MotionStatus.OPEN).first(),
        "is_active": topic.status == TopicStatus.ACTIVE,
    }
    if current_window and current_window.is_open and access.can(user, "consultation.object", topic.path):
        ctx["objection_form"] = forms.TextForm()
    if manage and ctx["is_active"]:
        kind = step.kind
        if kind == StepKind.REVIEW:
            ctx["review_form"] = forms.ReviewForm(
                topics=Topic.objects.filter(community=topic.community, status=TopicStatus.ACTIVE)
                .exclude(pk=topic.pk)
                .select_related("current_step")
            )
        if kind in (StepKind.NOTICE, StepKind.RESOLUTION_NOTICE) and current_window is None:
            ctx["publicity_form"] = forms.PublicityForm()
        if current_window is not None:
            ctx["photo_form"] = forms.AttachmentForm()
        if kind in (StepKind.NOTICE, StepKind.DELIBERATE) and (
            meeting is None or meeting.status == MeetingStatus.CLOSED
        ):
            ctx["meeting_form"] = meeting_form or forms.MeetingForm(
                members=permissions.voting_members(topic.community),
                initial={"title": f"小圆桌会议：{topic.title}"[:120]},
            )
        if kind == StepKind.RESOLUTION_NOTICE and current_window is None:
            ctx["resolution_form"] = forms.ResolutionForm(
                problems=CompoundProblem.objects.filter(compound__community=topic.community).exclude(
                    status__in=["resolved", "closed", "to_incident"]
                ),
                initial={"text": resolution.text} if resolution else None,
            )
        if kind == StepKind.IMPLEMENT:
            ctx["implementation_form"] = forms.ImplementationForm(
                residents=permissions.voting_members(
                    topic.community, roles=[Role.RESIDENT, Role.PARTY_MEMBER]
                ),
                initial={
                    "owner": implementation.owner,
                    "budget": implementation.budget,
                    "deadline": implementation.deadline,
                    "supervisor": implementation.supervisor,
                }
                if implementation
                else None,
            )
            ctx["progress_form"] = forms.ProgressForm(
                initial={"progress": implementation.progress if implementation else 0}
            )
        if kind == StepKind.EVALUATE:
            ctx["evaluate_form"] = forms.EvaluateForm()
    if (
        ctx["is_active"]
        and step.kind == StepKind.EVALUATE
        and services.is_participant(user, topic)
        and not topic.ratings.filter(round=topic.round, rater=user).exists()
    ):
        ctx["rating_form"] = forms.RatingForm()
    if (
        ctx["is_active"]
        and step.kind in (StepKind.IMPLEMENT, StepKind.SUPERVISE)
        and implementation
        and implementation.supervisor_id == user.pk
    ):
        ctx["supervision_form"] = forms.TextForm()
    return ctx


@login_required
@require_safe
def topic_detail(request, pk: int):
    topic = get_object_or_404(selectors.topic_list_for(user=request.user).select_related("template"), pk=pk)
    return render(request, "consultation/topic_detail.html", _topic_context(request, topic))


def _form_action(form_class, service, success: str):
    """An action whose form's cleaned data is exactly the service's keyword arguments."""

    @topic_action
    def view(request, topic):
        form = form_class(request.POST)
        if not form.is_valid():
            form_errors(request, form)
            return None
        return run(request, service, success=success, actor=request.user, topic=topic, **form.cleaned_data)

    return view


topic_publicity = _form_action(forms.PublicityForm, services.publicity_open, "公示已发布")
topic_progress = _form_action(forms.ProgressForm, services.implementation_progress, "进度已更新")
topic_rating = _form_action(forms.RatingForm, services.rating_submit, "感谢您的评议")
topic_evaluate = _form_action(forms.EvaluateForm, services.topic_evaluate, "评议结论已保存")


@topic_action
def topic_advance(request, topic):
    return run(
        request,
        services.topic_advance,
        success="已完成本步骤",
        actor=request.user,
        topic=topic,
        step_code=request.POST.get("step"),
    )


@topic_action
def topic_review(request, topic):
    form = forms.ReviewForm(request.POST, topics=Topic.objects.filter(community=topic.community))
    if not form.is_valid():
        form_errors(request, form)
        return None
    d = form.cleaned_data
    return run(
        request,
        services.topic_review,
        success="已作出审议结论",
        actor=request.user,
        topic=topic,
        decision=d["decision"],
        reason=d["reason"],
        merge_into=d["merge_into"],
        incident_category=d["incident_category"],
    )


@topic_action
def topic_meeting(request, topic):
    """Schedules the meeting. A refusal (a field, or one invitee the service will not accept)
    re-renders the topic page with everything entered and the message beside the field or
    the person, instead of a redirect that would lose it."""
    form = forms.MeetingForm(request.POST, members=permissions.voting_members(topic.community))
    if form.is_valid():
        d = form.cleaned_data
        invitees = [{"user": u, "category": category_for(u, topic.community)} for u in d["members"]]
        invitees += d["guests"]
        try:
            services.meeting_schedule(
                actor=request.user,
                topic=topic,
                title=d["title"],
                scheduled_at=d["scheduled_at"],
                location=d["location"],
                agenda=d["agenda"],
                default_speech_seconds=d["default_speech_seconds"],
                invitees=invitees,
            )
        except ValidationError as error:
            form.add_service_error(error)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "会议已安排，已通知参会人员")
            return None
    messages.error(request, "会议未安排：请按表单中标出的提示修改后再提交")
    return render(
        request,
        "consultation/topic_detail.html",
        _topic_context(request, topic, meeting_form=form),
        status=400,
    )


@topic_action
def topic_objection(request, topic):
    window = get_object_or_404(PublicityWindow, pk=posted_id(request.POST.get("window")), topic=topic)
    form = forms.TextForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return None
    return run(
        request,
        services.objection_lodge,
        success="异议已提交",
        actor=request.user,
        window=window,
        text=form.cleaned_data["text"],
    )


@topic_action
def topic_publicity_photo(request, topic):
    window = get_object_or_404(PublicityWindow, pk=posted_id(request.POST.get("window")), topic=topic)
    return upload(request, services.publicity_add_photo, "公示照片已上传", window=window)


@topic_action
def topic_objection_reply(request, topic):
    objection = get_object_or_404(Objection, pk=posted_id(request.POST.get("objection")), window__topic=topic)
    return run(
        request,
        services.objection_reply,
        success="已答复",
        actor=request.user,
        objection=objection,
        reply=request.POST.get("reply", ""),
    )


@topic_action
def topic_resolution(request, topic):
    form = forms.ResolutionForm(
        request.POST, problems=CompoundProblem.objects.filter(compound__community=topic.community)
    )
    if not form.is_valid():
        form_errors(request, form)
        return None
    return run(
        request,
        services.resolution_record,
        success="决议已记录",
        actor=request.user,
        topic=topic,
        text=form.cleaned_data["text"],
        outcomes=form.outcomes(),
    )


@topic_action
def topic_implementation(request, topic):
    form = forms.ImplementationForm(
        request.POST,
        residents=permissions.voting_members(topic.community, roles=[Role.RESIDENT, Role.PARTY_MEMBER]),
    )
    if not form.is_valid():
        form_errors(request, form)
        return None
    return run(
        request,
        services.implementation_set,
        success="实施安排已保存",
        actor=request.user,
        topic=topic,
        **form.cleaned_data,
    )


@topic_action
def topic_outcome_execute(request, topic):
    outcome = get_object_or_404(Outcome, pk=posted_id(request.POST.get("outcome")), resolution__topic=topic)
    return run(
        request, services.outcome_execute, success="决议事项已落实", actor=request.user, outcome=outcome
    )


@topic_action
def topic_supervision(request, topic):
    form = forms.TextForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return None
    return run(
        request,
        services.supervision_record,
        success="监督记录已提交",
        actor=request.user,
        topic=topic,
        note=form.cleaned_data["text"],
    )


@topic_action
def topic_end(request, topic):
    return run(
        request,
        services.topic_end_not_passed,
        success="议题已终止",
        actor=request.user,
        topic=topic,
        reason=request.POST.get("reason", ""),
    )


def public_notices(request, community: int):
    """The community's notice board online (公示): open to anyone, no sign-in, nothing personal
    — the notice text, its period and how many objections it has had. Objections themselves
    are lodged after signing in, by residents of the community."""
    place = get_object_or_404(Community.objects.select_related("town"), pk=community, retired_at__isnull=True)
    return render(
        request,
        "consultation/public_notices.html",
        {
            "community": place,
            "page": paginate(request, selectors.public_notices(community=place), 20),
            "now": timezone.now(),
        },
    )


@login_required
def attachment(request, pk: int, thumb: bool = False):
    """Meeting attachments and 公示照片, only for those who may see the topic (they are not
    served from MEDIA_URL)."""
    item = get_object_or_404(Attachment.objects.only("id", "topic_id", "image", "thumbnail"), pk=pk)
    get_object_or_404(selectors.topic_list_for(user=request.user), pk=item.topic_id)
    field = item.thumbnail if thumb and item.thumbnail else item.image
    response = FileResponse(
        field.open("rb"), content_type="image/png" if field.name.endswith(".png") else "image/jpeg"
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response
