"""The meeting page (laid out for the tablet at the 小圆桌), one small view per thing the host
does there, and the residents' phone vote page."""

from __future__ import annotations

import segno
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from qionglai.core.pages import posted_id
from qionglai.users import access

from .. import forms, permissions, selectors, services
from ..models import (
    InviteeCategory,
    MeetingStatus,
    MotionChoice,
    MotionStatus,
    StepKind,
    TopicStatus,
    VoteReceipt,
)
from .common import category_for, meeting_action, run, upload


@login_required
@require_safe
def meeting_run(request, pk: int):
    meeting = get_object_or_404(selectors.meeting_list_for(user=request.user), pk=pk)
    if not access.can(request.user, "consultation.manage", meeting.topic.path):
        raise PermissionDenied
    meeting = selectors.meeting_detail(meeting)
    topic = meeting.topic
    at = timezone.now()
    speeches = list(meeting.speeches.all())
    for s in speeches:
        s.done = not s.running_at(at)
        s.timed_out = s.cut_off or (s.ended_at is None and s.done)
    current = next((s for s in speeches if not s.done), None)
    last_done = next((s for s in reversed(speeches) if s.done), None)
    invitees = list(meeting.invitees.all())
    voting = [i for i in invitees if i.voting]
    open_motion = next((m for m in meeting.motions.all() if m.status == MotionStatus.OPEN), None)
    vote_step = services.step_of_kind(topic, StepKind.VOTE)
    voted: dict[int, VoteReceipt] = {}
    if open_motion is not None:
        voted = {r.voter_id: r for r in open_motion.receipts.all()}
    for i in invitees:
        i.receipt = voted.get(i.user_id) if i.user_id else None
    return render(
        request,
        "consultation/meeting_run.html",
        {
            "meeting": meeting,
            "topic": topic,
            "invitees": invitees,
            "invited": len(voting),
            "present": sum(1 for i in voting if i.present),
            "guests": len(invitees) - len(voting),
            "guests_present": sum(1 for i in invitees if i.present and not i.voting),
            "vote_step": vote_step,
            "speeches": speeches,
            "current_speech": current,
            "last_speech": last_done,
            "attachments": meeting.attachments.order_by("uploaded_at", "id"),
            "uninvited": permissions.voting_members(topic.community).exclude(
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
            "open_motion": open_motion,
            "vote_link": _vote_link(request, open_motion) if open_motion else None,
            "proxy_candidates": [i for i in voting if i.present and i.receipt is None],
            "motions": meeting.motions.all(),
            "requirements": services.step_requirements(topic) if topic.status == TopicStatus.ACTIVE else [],
        },
    )


def _vote_link(request, motion) -> dict:
    """The short link to the phone vote page and its QR code (an SVG data URI), shown on the
    tablet so that members with phones scan it instead of typing."""
    url = request.build_absolute_uri(reverse("consultation:motion-short", args=[motion.pk]))
    qr = segno.make_qr(url, error="m")  # never a Micro QR: phone scanners cannot read those
    return {"url": url, "qr": qr.svg_data_uri(scale=4, border=2)}


def motion_short(request, pk: int):
    """/consultation/v/<id>/: the short link on the tablet; sign-in first if needed."""
    return redirect("consultation:motion-vote", pk=pk)


def _invitee(request, meeting):
    return get_object_or_404(meeting.invitees, pk=posted_id(request.POST.get("invitee")))


@meeting_action
def meeting_open(request, meeting):
    return run(request, services.meeting_open, success="会议开始", actor=request.user, meeting=meeting)


@meeting_action
def meeting_sign_in(request, meeting):
    return run(request, services.meeting_sign_in, actor=request.user, invitee=_invitee(request, meeting))


@meeting_action
def meeting_speak(request, meeting):
    return run(request, services.speech_start, actor=request.user, invitee=_invitee(request, meeting))


@meeting_action
def meeting_end_speech(request, meeting):
    speech = get_object_or_404(meeting.speeches, pk=posted_id(request.POST.get("speech")))
    return run(
        request,
        services.speech_end,
        actor=request.user,
        speech=speech,
        summary=request.POST.get("summary", ""),
    )


@meeting_action
def meeting_option(request, meeting):
    post = request.POST
    invitee = (
        meeting.invitees.filter(pk=posted_id(post.get("invitee"))).first() if post.get("invitee") else None
    )
    return run(
        request,
        services.option_table,
        success="方案已记录",
        actor=request.user,
        meeting=meeting,
        text=post.get("text", ""),
        invitee=invitee,
    )


@meeting_action
def meeting_motion(request, meeting):
    post = request.POST
    option_ids = [int(i) for i in post.getlist("options") if i.isdigit()]
    return run(
        request,
        services.motion_open,
        success="表决开始，请参会人员在手机上投票",
        actor=request.user,
        meeting=meeting,
        title=post.get("title", ""),
        secret=post.get("secret") == "on",
        option_ids=option_ids or None,
    )


@meeting_action
def meeting_motion_close(request, meeting):
    motion = get_object_or_404(meeting.motions, pk=posted_id(request.POST.get("motion")))
    return run(request, services.motion_close, success="表决结束，已计票", actor=request.user, motion=motion)


@meeting_action
def meeting_motion_hands(request, meeting):
    """举手表决: the counts the host entered for each choice close the motion."""
    motion = get_object_or_404(meeting.motions, pk=posted_id(request.POST.get("motion")))
    counts = {c.pk: request.POST.get(f"choice_{c.pk}", "").strip() or 0 for c in motion.choices.all()}
    return run(
        request,
        services.motion_record_hands,
        success="已按举手表决计票，结果已写入会议纪要",
        actor=request.user,
        motion=motion,
        counts=counts,
    )


@meeting_action
def meeting_motion_proxy(request, meeting):
    """代投: the host casts a present member's ballot as the member says (no phone)."""
    motion = get_object_or_404(meeting.motions, pk=posted_id(request.POST.get("motion")))
    invitee = _invitee(request, meeting)
    choice = get_object_or_404(motion.choices, pk=posted_id(request.POST.get("choice")))
    return run(
        request,
        services.vote_cast_proxy,
        success=f"已为 {invitee.name} 代投",
        actor=request.user,
        motion=motion,
        invitee=invitee,
        choice=choice,
    )


@meeting_action
def meeting_minutes(request, meeting):
    return run(
        request,
        services.meeting_save_minutes,
        success="纪要已保存",
        actor=request.user,
        meeting=meeting,
        minutes=request.POST.get("minutes", ""),
    )


@meeting_action
def meeting_close(request, meeting):
    return run(
        request,
        services.meeting_close,
        success="会议结束",
        actor=request.user,
        meeting=meeting,
        minutes=request.POST.get("minutes", ""),
    )


@meeting_action
def meeting_advance(request, meeting):
    return run(
        request,
        services.topic_advance,
        success="已完成本步骤",
        actor=request.user,
        topic=meeting.topic,
        step_code=request.POST.get("step"),
    )


@meeting_action
def meeting_invite(request, meeting):
    post, community = request.POST, meeting.topic.community
    person = (
        permissions.voting_members(community).filter(pk=posted_id(post.get("user"))).first()
        if post.get("user")
        else None
    )
    return run(
        request,
        services.meeting_invite,
        success="已邀请，并已通知本人" if person else "已增加列席人员",
        actor=request.user,
        meeting=meeting,
        category=category_for(person, community) if person else post.get("category", ""),
        user=person,
        name=post.get("name", ""),
    )


@meeting_action
def meeting_attach(request, meeting):
    return upload(request, services.meeting_attach, "照片已上传", meeting=meeting)


@login_required
def motion_vote(request, pk: int):
    motion = get_object_or_404(selectors.motion_list_for(user=request.user), pk=pk)
    voted = motion.receipts.filter(voter=request.user).exists()
    if request.method == "POST":
        choice = get_object_or_404(MotionChoice, pk=posted_id(request.POST.get("choice")), motion=motion)
        if run(
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
        {
            "motion": motion,
            "voted": voted,
            "may_vote": permissions.may_vote(request.user, motion.topic.community),
            "choices": motion.choices.all(),
            "topic": motion.topic,
        },
    )


@login_required
def motion_count(request, pk: int):
    """The meeting screen polls this for the live count."""
    motion = get_object_or_404(selectors.motion_list_for(user=request.user), pk=pk)
    return JsonResponse(services.live_count(motion), json_dumps_params={"ensure_ascii": False})
