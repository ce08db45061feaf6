"""The 小圆桌 meeting: schedule and invite, open, sign in, speakers, options, minutes, close."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.core.images import clean_image
from qionglai.core.notify import notify
from qionglai.users import access

from .. import permissions, signals
from ..models import (
    Attachment,
    EventKind,
    Invitee,
    InviteeCategory,
    Meeting,
    MeetingStatus,
    MotionStatus,
    Option,
    Speech,
    StepKind,
    Topic,
)
from .common import (
    MSG_ALREADY_INVITED,
    MSG_INVITEE_OUTSIDE,
    MSG_MEETING_OPEN_EXISTS,
    MSG_MEETING_STATE,
    MSG_MOTION_OPEN,
    MSG_NOT_PRESENT_SPEAKER,
    lock_topic,
    now,
    record_event,
    require_active,
    require_step,
    topic_url,
)


def _lock_meeting(meeting: Meeting) -> Meeting:
    return (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("topic", "topic__community")
        .get(pk=meeting.pk)
    )


def _require_status(meeting: Meeting, what: str, *statuses: str) -> None:
    if meeting.status not in statuses:
        raise ApplicationError(MSG_MEETING_STATE.format(status=meeting.get_status_display(), what=what))


def _add_invitee(meeting: Meeting, topic: Topic, *, user=None, name: str = "", category: str) -> Invitee:
    if category not in InviteeCategory.values:
        raise ValidationError({"category": "请选择参会身份"})
    if user is not None:
        # Voting members belong to the topic's community (permissions.may_vote, the rule the
        # invite list is drawn from); others attend by name as 列席, without a vote.
        if not permissions.may_vote(user, topic.community):
            raise ValidationError(
                {
                    "user": ValidationError(
                        MSG_INVITEE_OUTSIDE.format(name=user.display_name),
                        code="invitee_outside",
                        params={"user_id": user.pk},
                    )
                }
            )
        name = name or user.display_name
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "请填写参会人员姓名"})
    try:
        with transaction.atomic():
            return Invitee.objects.create(meeting=meeting, user=user, name=name[:50], category=category)
    except IntegrityError:
        return Invitee.objects.get(meeting=meeting, user=user)


def meeting_schedule(
    *,
    actor,
    topic: Topic,
    title: str,
    scheduled_at: datetime,
    location: str = "",
    agenda: str = "",
    invitees: list[dict] = (),
    default_speech_seconds: int = 180,
) -> Meeting:
    """Arranges the 小圆桌 meeting (during 公示议题 or 协商) and invites participants.
    `invitees`: dicts with `category` and either `user` or `name`. One open meeting per topic."""
    access.require(actor, "consultation.manage", topic.path)
    if not (title or "").strip():
        raise ValidationError({"title": "请填写会议名称"})
    if not 30 <= int(default_speech_seconds) <= 1800:
        raise ValidationError({"default_speech_seconds": "发言时限应在 30 秒到 30 分钟之间"})
    with transaction.atomic():
        topic = lock_topic(topic)
        require_step(topic, StepKind.NOTICE, StepKind.DELIBERATE)
        if topic.meetings.filter(status__in=[MeetingStatus.SCHEDULED, MeetingStatus.OPEN]).exists():
            raise ApplicationError(MSG_MEETING_OPEN_EXISTS)
        try:
            with transaction.atomic():
                meeting = Meeting.objects.create(
                    topic=topic,
                    title=title.strip()[:120],
                    scheduled_at=scheduled_at,
                    location=location[:120],
                    agenda=agenda,
                    default_speech_seconds=default_speech_seconds,
                    created_by=actor,
                )
        except IntegrityError:
            raise ApplicationError(MSG_MEETING_OPEN_EXISTS) from None
        for spec in invitees:
            _add_invitee(
                meeting, topic, user=spec.get("user"), name=spec.get("name", ""), category=spec["category"]
            )
        record_event(topic=topic, actor=actor, kind=EventKind.MEETING, note=f"安排会议：{meeting.title}")
        audit_record(
            actor=actor, action="meeting.schedule", target=meeting, path=topic.path, summary=meeting.title
        )
        user_ids = list(meeting.invitees.filter(user__isnull=False).values_list("user_id", flat=True))
        notify(
            user_ids=user_ids,
            key=f"consultation:meeting:{meeting.pk}:invited",
            title=f"邀请您参加小圆桌会议：{meeting.title}",
            body=f"{meeting.location}",
            url=topic_url(topic),
        )
    return meeting


def meeting_invite(*, actor, meeting: Meeting, category: str, user=None, name: str = "") -> Invitee:
    access.require(actor, "consultation.manage", meeting.topic.path)
    with transaction.atomic():
        meeting = _lock_meeting(meeting)
        _require_status(meeting, "增加参会人员", MeetingStatus.SCHEDULED, MeetingStatus.OPEN)
        if user is not None and meeting.invitees.filter(user=user).exists():
            # the meeting row is locked, so this check and the insert cannot interleave
            raise ValidationError({"user": MSG_ALREADY_INVITED.format(name=user.display_name)})
        invitee = _add_invitee(meeting, meeting.topic, user=user, name=name, category=category)
        audit_record(
            actor=actor,
            action="meeting.invite",
            target=meeting,
            path=meeting.topic.path,
            summary=invitee.name,
        )
    if user is not None:
        notify(
            user_ids=[user.pk],
            key=f"consultation:meeting:{meeting.pk}:invited",
            title=f"邀请您参加小圆桌会议：{meeting.title}",
            url=topic_url(meeting.topic),
        )
    return invitee


def meeting_open(*, actor, meeting: Meeting) -> Meeting:
    access.require(actor, "consultation.manage", meeting.topic.path)
    with transaction.atomic():
        topic = lock_topic(meeting.topic)
        require_step(topic, StepKind.DELIBERATE)
        meeting = _lock_meeting(meeting)
        _require_status(meeting, "开会", MeetingStatus.SCHEDULED)
        meeting.status, meeting.opened_at = MeetingStatus.OPEN, now()
        meeting.save(update_fields=["status", "opened_at"])
        record_event(topic=topic, actor=actor, kind=EventKind.MEETING, note=f"会议开始：{meeting.title}")
        audit_record(actor=actor, action="meeting.open", target=meeting, path=topic.path)
    return meeting


def meeting_sign_in(*, actor, invitee: Invitee) -> Invitee:
    """Records attendance (staff at the tablet). Signing in twice changes nothing."""
    meeting = invitee.meeting
    topic = meeting.topic
    access.require(actor, "consultation.manage", topic.path)
    with transaction.atomic():
        meeting = _lock_meeting(meeting)
        _require_status(meeting, "签到", MeetingStatus.OPEN)
        updated = Invitee.objects.filter(pk=invitee.pk, signed_in_at__isnull=True).update(
            signed_in_at=now(), signed_in_by=actor
        )
        invitee = Invitee.objects.get(pk=invitee.pk)
        if updated:
            audit_record(
                actor=actor, action="meeting.sign_in", target=meeting, path=topic.path, summary=invitee.name
            )
            if invitee.user_id:
                signals.participant_attended.send(
                    sender=Meeting,
                    topic_id=topic.pk,
                    user_id=invitee.user_id,
                    community_path=topic.community.path,
                    event_key=f"consultation:attended:{topic.pk}:{invitee.user_id}",
                )
    return invitee


def speech_start(*, actor, invitee: Invitee, limit_seconds: int | None = None) -> Speech:
    """Gives the floor to a signed-in participant; a running speech is ended first."""
    meeting = invitee.meeting
    topic = meeting.topic
    access.require(actor, "consultation.manage", topic.path)
    with transaction.atomic():
        meeting = _lock_meeting(meeting)
        _require_status(meeting, "发言", MeetingStatus.OPEN)
        invitee = Invitee.objects.get(pk=invitee.pk)
        if invitee.signed_in_at is None:
            raise ApplicationError(MSG_NOT_PRESENT_SPEAKER.format(name=invitee.name))
        at = now()
        _end_speeches(meeting, at)
        limit = int(limit_seconds or meeting.default_speech_seconds)
        if not 30 <= limit <= 1800:
            raise ValidationError({"limit_seconds": "发言时限应在 30 秒到 30 分钟之间"})
        speech = Speech.objects.create(meeting=meeting, invitee=invitee, limit_seconds=limit, started_at=at)
        if invitee.user_id:
            signals.participant_spoke.send(
                sender=Meeting,
                topic_id=topic.pk,
                user_id=invitee.user_id,
                community_path=topic.community.path,
                event_key=f"consultation:spoke:{topic.pk}:{invitee.user_id}",
            )
        audit_record(
            actor=actor, action="meeting.speech", target=meeting, path=topic.path, summary=invitee.name
        )
    return speech


def _end_speeches(meeting: Meeting, at, *, only: int | None = None) -> None:
    """Ends every speech still running in the meeting at `at` — or at its deadline, if the
    limit ran out first: a speech never lasts longer than its limit in the record, whether
    or not anyone pressed 结束发言 in time. Called with the meeting row locked."""
    running = meeting.speeches.select_for_update().filter(ended_at__isnull=True)
    if only is not None:
        running = running.filter(pk=only)
    for speech in running:
        over = at >= speech.deadline
        Speech.objects.filter(pk=speech.pk).update(ended_at=speech.deadline if over else at, cut_off=over)


def current_speech(meeting: Meeting) -> Speech | None:
    """The speech that has the floor now: started, not ended, and within its limit."""
    at = now()
    running = meeting.speeches.filter(ended_at__isnull=True).select_related("invitee").order_by("-id")
    return next((s for s in running if s.running_at(at)), None)


def speech_end(*, actor, speech: Speech, summary: str = "") -> Speech:
    """Ends the speech (at its deadline if the limit already ran out) and keeps the summary;
    a summary can still be added to a speech the limit has ended."""
    access.require(actor, "consultation.manage", speech.meeting.topic.path)
    with transaction.atomic():
        meeting = _lock_meeting(speech.meeting)
        _end_speeches(meeting, now(), only=speech.pk)
        if summary:
            Speech.objects.filter(pk=speech.pk).update(summary=summary[:500])
        speech = Speech.objects.select_related("invitee").get(pk=speech.pk)
        audit_record(
            actor=actor,
            action="meeting.speech_end",
            target=meeting,
            path=meeting.topic.path,
            summary=f"{speech.invitee.name}{'（时间到）' if speech.cut_off else ''}",
        )
        return speech


def option_table(*, actor, meeting: Meeting, text: str, invitee: Invitee | None = None) -> Option:
    access.require(actor, "consultation.manage", meeting.topic.path)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "请填写方案内容"})
    with transaction.atomic():
        meeting = _lock_meeting(meeting)
        _require_status(meeting, "提出方案", MeetingStatus.OPEN)
        require_active(meeting.topic)
        if invitee is not None and invitee.meeting_id != meeting.pk:
            raise ValidationError({"invitee": "提出人不是本次会议的参会人员"})
        option = Option.objects.create(meeting=meeting, text=text[:300], tabled_by=invitee)
        audit_record(
            actor=actor, action="meeting.option", target=meeting, path=meeting.topic.path, summary=text
        )
    return option


def meeting_save_minutes(*, actor, meeting: Meeting, minutes: str) -> Meeting:
    """Minutes stay editable until the topic leaves the vote step."""
    access.require(actor, "consultation.manage", meeting.topic.path)
    with transaction.atomic():
        topic = lock_topic(meeting.topic)
        require_step(topic, StepKind.DELIBERATE, StepKind.VOTE)
        meeting = _lock_meeting(meeting)
        meeting.minutes = minutes or ""
        meeting.save(update_fields=["minutes"])
        audit_record(actor=actor, action="meeting.minutes", target=meeting, path=topic.path)
    return meeting


def meeting_close(*, actor, meeting: Meeting, minutes: str | None = None) -> Meeting:
    access.require(actor, "consultation.manage", meeting.topic.path)
    with transaction.atomic():
        topic = lock_topic(meeting.topic)
        meeting = _lock_meeting(meeting)
        _require_status(meeting, "结束", MeetingStatus.OPEN)
        if meeting.motions.filter(status=MotionStatus.OPEN).exists():
            raise ApplicationError(MSG_MOTION_OPEN)
        at = now()
        _end_speeches(meeting, at)
        if minutes is not None:
            meeting.minutes = minutes
        meeting.status, meeting.closed_at = MeetingStatus.CLOSED, at
        meeting.save(update_fields=["status", "closed_at", "minutes"])
        present = meeting.invitees.filter(signed_in_at__isnull=False).count()
        record_event(
            topic=topic,
            actor=actor,
            kind=EventKind.MEETING,
            note=f"会议结束：{meeting.title}（实到 {present} 人）",
        )
        audit_record(actor=actor, action="meeting.close", target=meeting, path=topic.path)
    return meeting


MAX_ATTACHMENTS = 30
MSG_TOO_MANY_ATTACHMENTS = "每次会议最多上传 {n} 张照片"


def meeting_attach(*, actor, meeting: Meeting, upload, caption: str = "") -> Attachment:
    """A photo for the meeting's record (签到表, the scene, the signed minutes), once the
    meeting has been opened and while the topic is still running. The image is decoded,
    re-encoded and stripped of EXIF before anything is stored; a bad file stores nothing."""
    access.require(actor, "consultation.manage", meeting.topic.path)
    cleaned = clean_image(upload, field="image")
    with transaction.atomic():
        topic = lock_topic(meeting.topic)
        require_active(topic)
        meeting = _lock_meeting(meeting)
        _require_status(meeting, "上传照片", MeetingStatus.OPEN, MeetingStatus.CLOSED)
        if meeting.attachments.count() >= MAX_ATTACHMENTS:
            raise ValidationError({"image": MSG_TOO_MANY_ATTACHMENTS.format(n=MAX_ATTACHMENTS)})
        attachment = Attachment(
            topic=topic, step=topic.current_step, meeting=meeting, caption=caption[:150], uploaded_by=actor
        )
        attachment.image.save(cleaned.content.name, cleaned.content, save=False)
        attachment.thumbnail.save(cleaned.thumbnail.name, cleaned.thumbnail, save=False)
        attachment.save()
        record_event(
            topic=topic,
            actor=actor,
            kind=EventKind.MEETING,
            note=f"上传会议照片：{attachment.caption or '（无说明）'}",
        )
        audit_record(
            actor=actor, action="meeting.attach", target=meeting, path=topic.path, summary=attachment.caption
        )
    return attachment


def present_user_ids(meeting: Meeting) -> set[int]:
    return set(
        meeting.invitees.filter(~Q(user=None), signed_in_at__isnull=False).values_list("user_id", flat=True)
    )
