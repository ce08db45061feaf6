"""Pages for 邻聚小圆桌. Staff run topics and meetings (the meeting page is laid out for a
tablet); residents propose, read notices, object, vote and rate from a phone. Every POST
calls a service; its Chinese message is shown as it is. Topics outside the user's grants are
404, not 403, so nothing leaks by id."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from projects.models import Community, Compound, CompoundProblem
from qionglai.core.errors import ApplicationError
from qionglai.core.pages import paginate, posted_id
from qionglai.users import access
from qionglai.users.models import Role

from . import forms, selectors, services
from .models import (
    Attachment,
    Implementation,
    InviteeCategory,
    MeetingStatus,
    Motion,
    MotionChoice,
    MotionStatus,
    Objection,
    Outcome,
    ProcedureTemplate,
    PublicityWindow,
    Resolution,
    StepKind,
    Topic,
    TopicStatus,
)


def _run(request, fn, success: str = "", **kwargs):
    """Calls a service; a refusal becomes an error message on the page. Returns the result or None."""
    try:
        result = fn(**kwargs)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return None
    except ApplicationError as error:
        messages.error(request, error.message)
        return None
    if success:
        messages.success(request, success)
    return result if result is not None else True


def _form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        messages.error(request, f"{label}：{errors[0]}" if label else errors[0])


def _upload(request, service, success: str, **target):
    """A photo form (AttachmentForm) handed to `service` with the uploaded file and caption."""
    form = forms.AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_errors(request, form)
        return None
    data = form.cleaned_data
    return _run(
        request,
        service,
        success=success,
        actor=request.user,
        upload=data["image"],
        caption=data["caption"],
        **target,
    )


def _members(community: Community):
    """People of the community who can be voting members of its meetings."""
    inside = Q(grants__path=community.path) | Q(grants__path__startswith=community.path + ".")
    return (
        get_user_model()
        .objects.filter(
            inside,
            grants__retired_at__isnull=True,
            grants__role__in=[Role.RESIDENT, Role.PARTY_MEMBER, Role.GRID_WORKER, Role.COMMUNITY_STAFF],
            is_active=True,
        )
        .distinct()
        .order_by("real_name", "username")
    )


def _category_for(user, community) -> str:
    if access.can(user, "consultation.manage", community.path):
        return InviteeCategory.STAFF
    return InviteeCategory.RESIDENT_REP


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
        topic = _run(
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


def _topic_context(request, topic: Topic) -> dict:
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
                topics=Topic.objects.filter(community=topic.community, status=TopicStatus.ACTIVE).exclude(
                    pk=topic.pk
                )
            )
        if kind in (StepKind.NOTICE, StepKind.RESOLUTION_NOTICE) and current_window is None:
            ctx["publicity_form"] = forms.PublicityForm()
        if current_window is not None:
            ctx["photo_form"] = forms.AttachmentForm()
        if kind in (StepKind.NOTICE, StepKind.DELIBERATE) and (
            meeting is None or meeting.status == MeetingStatus.CLOSED
        ):
            ctx["meeting_form"] = forms.MeetingForm(
                members=_members(topic.community), initial={"title": f"小圆桌会议：{topic.title}"[:120]}
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
                residents=_members(topic.community).filter(
                    grants__role__in=[Role.RESIDENT, Role.PARTY_MEMBER]
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


# Actions whose form's cleaned data is exactly the service's keyword arguments.
FORM_ACTIONS = {
    "publicity": (forms.PublicityForm, "publicity_open", "公示已发布"),
    "progress": (forms.ProgressForm, "implementation_progress", "进度已更新"),
    "rate": (forms.RatingForm, "rating_submit", "感谢您的评议"),
    "evaluate": (forms.EvaluateForm, "topic_evaluate", "评议结论已保存"),
}


def _handle_topic_post(request, topic: Topic):
    user, post, act = request.user, request.POST, request.POST.get("action")
    if act in FORM_ACTIONS:
        form_class, service, success = FORM_ACTIONS[act]
        form = form_class(post)
        if form.is_valid():
            return _run(
                request,
                getattr(services, service),
                success=success,
                actor=user,
                topic=topic,
                **form.cleaned_data,
            )
    if act == "advance":
        return _run(
            request,
            services.topic_advance,
            success="已完成本步骤",
            actor=user,
            topic=topic,
            step_code=post.get("step"),
        )
    if act == "review":
        form = forms.ReviewForm(post, topics=Topic.objects.filter(community=topic.community))
        if form.is_valid():
            d = form.cleaned_data
            return _run(
                request,
                services.topic_review,
                success="已作出审议结论",
                actor=user,
                topic=topic,
                decision=d["decision"],
                reason=d["reason"],
                merge_into=d["merge_into"],
                incident_category=d["incident_category"] or "1201",
            )
    if act == "meeting":
        form = forms.MeetingForm(post, members=_members(topic.community))
        if form.is_valid():
            d = form.cleaned_data
            invitees = [{"user": u, "category": _category_for(u, topic.community)} for u in d["members"]]
            invitees += d["guests"]
            return _run(
                request,
                services.meeting_schedule,
                success="会议已安排，已通知参会人员",
                actor=user,
                topic=topic,
                title=d["title"],
                scheduled_at=d["scheduled_at"],
                location=d["location"],
                agenda=d["agenda"],
                default_speech_seconds=d["default_speech_seconds"],
                invitees=invitees,
            )
        _form_errors(request, form)
        return None
    if act == "objection":
        form = forms.TextForm(post)
        window = get_object_or_404(PublicityWindow, pk=posted_id(post.get("window")), topic=topic)
        if form.is_valid():
            return _run(
                request,
                services.objection_lodge,
                success="异议已提交",
                actor=user,
                window=window,
                text=form.cleaned_data["text"],
            )
    if act == "photo":
        window = get_object_or_404(PublicityWindow, pk=posted_id(post.get("window")), topic=topic)
        return _upload(request, services.publicity_add_photo, "公示照片已上传", window=window)
    if act == "reply":
        objection = get_object_or_404(Objection, pk=posted_id(post.get("objection")), window__topic=topic)
        return _run(
            request,
            services.objection_reply,
            success="已答复",
            actor=user,
            objection=objection,
            reply=post.get("reply", ""),
        )
    if act == "resolution":
        form = forms.ResolutionForm(
            post, problems=CompoundProblem.objects.filter(compound__community=topic.community)
        )
        if form.is_valid():
            return _run(
                request,
                services.resolution_record,
                success="决议已记录",
                actor=user,
                topic=topic,
                text=form.cleaned_data["text"],
                outcomes=form.outcomes(),
            )
    if act == "implementation":
        form = forms.ImplementationForm(post, residents=_members(topic.community))
        if form.is_valid():
            return _run(
                request,
                services.implementation_set,
                success="实施安排已保存",
                actor=user,
                topic=topic,
                **form.cleaned_data,
            )
    if act == "execute":
        outcome = get_object_or_404(Outcome, pk=posted_id(post.get("outcome")), resolution__topic=topic)
        return _run(request, services.outcome_execute, success="决议事项已落实", actor=user, outcome=outcome)
    if act == "supervise":
        form = forms.TextForm(post)
        if form.is_valid():
            return _run(
                request,
                services.supervision_record,
                success="监督记录已提交",
                actor=user,
                topic=topic,
                note=form.cleaned_data["text"],
            )
    if act == "end":
        return _run(
            request,
            services.topic_end_not_passed,
            success="议题已终止",
            actor=user,
            topic=topic,
            reason=post.get("reason", ""),
        )
    messages.error(request, "提交的内容不完整，请检查后重试")
    return None


@login_required
def topic_detail(request, pk: int):
    topic = get_object_or_404(selectors.topic_list_for(user=request.user).select_related("template"), pk=pk)
    if request.method == "POST":
        _handle_topic_post(request, topic)
        return redirect("consultation:topic-detail", pk=topic.pk)
    return render(request, "consultation/topic_detail.html", _topic_context(request, topic))


@login_required
def meeting_run(request, pk: int):
    meeting = get_object_or_404(selectors.meeting_list_for(user=request.user), pk=pk)
    topic = meeting.topic
    if not access.can(request.user, "consultation.manage", topic.path):
        raise PermissionDenied
    if request.method == "POST":
        user, post, act = request.user, request.POST, request.POST.get("action")
        invitee = (
            meeting.invitees.filter(pk=posted_id(post.get("invitee"))).first()
            if post.get("invitee")
            else None
        )
        if act == "open":
            _run(request, services.meeting_open, success="会议开始", actor=user, meeting=meeting)
        elif act == "sign_in" and invitee:
            _run(request, services.meeting_sign_in, actor=user, invitee=invitee)
        elif act == "speak" and invitee:
            _run(request, services.speech_start, actor=user, invitee=invitee)
        elif act == "end_speech":
            speech = get_object_or_404(meeting.speeches, pk=posted_id(post.get("speech")))
            _run(request, services.speech_end, actor=user, speech=speech, summary=post.get("summary", ""))
        elif act == "option":
            _run(
                request,
                services.option_table,
                success="方案已记录",
                actor=user,
                meeting=meeting,
                text=post.get("text", ""),
                invitee=invitee,
            )
        elif act == "motion":
            option_ids = [int(i) for i in post.getlist("options") if i.isdigit()]
            _run(
                request,
                services.motion_open,
                success="表决开始，请参会人员在手机上投票",
                actor=user,
                meeting=meeting,
                title=post.get("title", ""),
                secret=post.get("secret") == "on",
                option_ids=option_ids or None,
            )
        elif act == "close_motion":
            motion = get_object_or_404(meeting.motions, pk=posted_id(post.get("motion")))
            _run(request, services.motion_close, success="表决结束，已计票", actor=user, motion=motion)
        elif act == "minutes":
            _run(
                request,
                services.meeting_save_minutes,
                success="纪要已保存",
                actor=user,
                meeting=meeting,
                minutes=post.get("minutes", ""),
            )
        elif act == "close":
            _run(
                request,
                services.meeting_close,
                success="会议结束",
                actor=user,
                meeting=meeting,
                minutes=post.get("minutes", ""),
            )
        elif act == "advance":
            _run(
                request,
                services.topic_advance,
                success="已完成本步骤",
                actor=user,
                topic=topic,
                step_code=post.get("step"),
            )
        elif act == "invite":
            person = (
                _members(topic.community).filter(pk=posted_id(post.get("user"))).first()
                if post.get("user")
                else None
            )
            _run(
                request,
                services.meeting_invite,
                success="已邀请，并已通知本人" if person else "已增加列席人员",
                actor=user,
                meeting=meeting,
                category=_category_for(person, topic.community) if person else post.get("category", ""),
                user=person,
                name=post.get("name", ""),
            )
        elif act == "attach":
            _upload(request, services.meeting_attach, "照片已上传", meeting=meeting)
        return redirect("consultation:meeting-run", pk=meeting.pk)
    meeting = selectors.meeting_detail(meeting)
    topic = meeting.topic
    at = timezone.now()
    speeches = list(meeting.speeches.all())
    for s in speeches:
        s.done = not s.running_at(at)
        s.timed_out = s.cut_off or (s.ended_at is None and s.done)
    current = next((s for s in speeches if not s.done), None)
    last_done = next((s for s in reversed(speeches) if s.done), None)
    return render(
        request,
        "consultation/meeting_run.html",
        {
            "meeting": meeting,
            "topic": topic,
            "invitees": meeting.invitees.all(),
            "present": sum(1 for i in meeting.invitees.all() if i.present),
            "speeches": speeches,
            "current_speech": current,
            "last_speech": last_done,
            "attachments": meeting.attachments.order_by("uploaded_at", "id"),
            "uninvited": _members(topic.community).exclude(
                pk__in=[i.user_id for i in meeting.invitees.all() if i.user_id]
            )
            if meeting.status != MeetingStatus.CLOSED
            else [],
            "guest_categories": [
                (value, label)
                for value, label in InviteeCategory.choices
                if value not in (InviteeCategory.RESIDENT_REP, InviteeCategory.STAFF)
            ],
            "attachment_form": forms.AttachmentForm(),
            "open_motion": next((m for m in meeting.motions.all() if m.status == MotionStatus.OPEN), None),
            "motions": meeting.motions.all(),
            "requirements": services.step_requirements(topic) if topic.status == TopicStatus.ACTIVE else [],
        },
    )


@login_required
def motion_vote(request, pk: int):
    motion = get_object_or_404(selectors.motion_list_for(user=request.user), pk=pk)
    voted = motion.receipts.filter(voter=request.user).exists()
    if request.method == "POST":
        choice = get_object_or_404(MotionChoice, pk=posted_id(request.POST.get("choice")), motion=motion)
        if _run(
            request,
            services.vote_cast,
            success="投票成功，谢谢参与",
            actor=request.user,
            motion=motion,
            choice=choice,
        ):
            return redirect("consultation:topic-detail", pk=motion.topic_id)
        return redirect("consultation:motion-vote", pk=motion.pk)
    return render(
        request,
        "consultation/motion_vote.html",
        {"motion": motion, "voted": voted, "choices": motion.choices.all(), "topic": motion.topic},
    )


@login_required
def motion_count(request, pk: int):
    """The meeting screen polls this for the live count."""
    motion = get_object_or_404(selectors.motion_list_for(user=request.user), pk=pk)
    return JsonResponse(services.live_count(motion), json_dumps_params={"ensure_ascii": False})


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


def _templates_visible(user):
    """The current default, and the community templates (every version) in the user's scope."""
    community_own = access.scope(
        ProcedureTemplate.objects.filter(community__isnull=False), user, "consultation.view"
    )
    return ProcedureTemplate.objects.filter(
        Q(is_default=True) | Q(pk__in=community_own.values("pk"))
    ).select_related("community", "cloned_from")


@login_required
def template_list(request):
    """议事规则: the 「默认模板」 and the communities' own versions; staff clone one for their
    community here and then edit it."""
    user = request.user
    if not access.can_anywhere(user, "consultation.view"):
        raise PermissionDenied
    visible = _templates_visible(user).annotate(
        running=Count("topics", filter=Q(topics__status=TopicStatus.ACTIVE)), total=Count("topics")
    )
    communities = access.scope(
        Community.objects.filter(retired_at__isnull=True), user, "consultation.template_manage"
    ).order_by("path")
    form = None
    if access.can_anywhere(user, "consultation.template_manage"):
        form = forms.TemplateCloneForm(request.POST or None, communities=communities)
        if request.method == "POST":
            source = get_object_or_404(
                visible.filter(is_current=True), pk=posted_id(request.POST.get("source"))
            )
            if form.is_valid():
                template = _run(
                    request,
                    services.template_clone,
                    success="已复制为本社区模板，可在下方修改各步骤",
                    actor=user,
                    source=source,
                    community=form.cleaned_data["community"],
                    name=form.cleaned_data["name"],
                )
                if template:
                    return redirect("consultation:template-edit", pk=template.pk)
            else:
                _form_errors(request, form)
            return redirect("consultation:template-list")
    templates = visible.order_by("-is_default", "community__path", "family", "-version")
    return render(
        request,
        "consultation/template_list.html",
        {
            "current": [t for t in templates if t.is_current],
            "older": [t for t in templates if not t.is_current],
            "clone_form": form,
        },
    )


@login_required
def template_edit(request, pk: int):
    user = request.user
    if not access.can_anywhere(user, "consultation.view"):
        raise PermissionDenied
    template = get_object_or_404(_templates_visible(user), pk=pk)
    can_edit = template.is_current and access.can(user, "consultation.template_manage", template.path)
    running = template.topics.filter(status=TopicStatus.ACTIVE).count()
    form = None
    if can_edit:
        form = forms.TemplateEditForm(request.POST or None, template=template)
        if request.method == "POST":
            if not form.is_valid():
                messages.error(request, "请按提示修改后再保存")
            elif not (changes := form.changes()) and form.cleaned_data["name"] == template.name:
                messages.info(request, "没有修改任何内容")
                return redirect("consultation:template-edit", pk=template.pk)
            else:
                saved = _run(
                    request,
                    services.template_update,
                    actor=user,
                    template=template,
                    steps=changes,
                    name=form.cleaned_data["name"],
                )
                if saved:
                    if saved.pk != template.pk:
                        messages.success(
                            request,
                            f"已保存为第 {saved.version} 版；正在进行的 {running} 个议题仍按第 "
                            f"{template.version} 版办理，新议题按第 {saved.version} 版办理",
                        )
                    else:
                        messages.success(request, "模板已保存，此后提出的议题按此办理")
                    return redirect("consultation:template-edit", pk=saved.pk)
    elif request.method == "POST":
        raise PermissionDenied
    current = None
    if not template.is_current:
        current = ProcedureTemplate.objects.filter(family=template.family, is_current=True).first()
    return render(
        request,
        "consultation/template_edit.html",
        {
            "template": template,
            "steps": template.steps.order_by("order"),
            "form": form,
            "running": running,
            "current": current,
        },
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
