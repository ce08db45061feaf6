"""Publicity (公示议题, 决议公示): open a timed notice, take objections while it runs, reply to
them, and the beat sweep that closes due notices exactly once."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Now

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.core.images import clean_image
from qionglai.core.notify import notify
from qionglai.users import access

from ..models import (
    PUBLICITY_KINDS,
    Attachment,
    EventKind,
    Objection,
    PublicityWindow,
    Resolution,
    StepKind,
    Topic,
)
from .common import (
    MSG_NEEDS_RESOLUTION,
    MSG_PUBLICITY_CLOSED,
    MSG_PUBLICITY_EXISTS,
    lock_topic,
    notify_proposer,
    now,
    record_event,
    require_active,
    require_step,
    staff_ids,
    topic_url,
)

MAX_PHOTOS = 10
MSG_PHOTO_STEP = "只能为当前步骤「{step}」的公示上传照片"


def publicity_open(*, actor, topic: Topic, title: str = "", content: str) -> PublicityWindow:
    """Publishes the notice of the current publicity step for at least the step's period."""
    access.require(actor, "consultation.manage", topic.path)
    content = (content or "").strip()
    if not content:
        raise ValidationError({"content": "请填写公示内容"})
    with transaction.atomic():
        topic = lock_topic(topic)
        step = require_step(topic, *PUBLICITY_KINDS)
        if step.kind == StepKind.RESOLUTION_NOTICE and not Resolution.objects.filter(topic=topic).exists():
            raise ApplicationError(MSG_NEEDS_RESOLUTION)
        if PublicityWindow.objects.filter(topic=topic, step=step).exists():
            raise ApplicationError(MSG_PUBLICITY_EXISTS)
        opened = now()
        title = (title or "").strip() or f"{step.name}：{topic.title}"
        try:
            with transaction.atomic():
                window = PublicityWindow.objects.create(
                    topic=topic,
                    step=step,
                    title=title[:150],
                    content=content,
                    opened_at=opened,
                    ends_at=opened + timedelta(days=max(step.min_days, 1)),
                    opened_by=actor,
                )
        except IntegrityError:
            raise ApplicationError(MSG_PUBLICITY_EXISTS) from None
        record_event(topic=topic, actor=actor, kind=EventKind.PUBLICITY_OPENED, note=title)
        audit_record(actor=actor, action="publicity.open", target=window, path=topic.path, summary=title)
        notify_proposer(topic, key=f"publicity:{step.code}", title=f"「{step.name}」已发布", body=title)
    return window


def publicity_add_photo(*, actor, window: PublicityWindow, upload, caption: str = "") -> Attachment:
    """公示照片: a photo of the notice as posted on the community board — the record a step
    may require. Only for the notice of the step the topic is in, while the topic runs; the
    image is decoded and re-encoded before anything is stored."""
    access.require(actor, "consultation.manage", window.topic.path)
    cleaned = clean_image(upload, field="image")
    with transaction.atomic():
        topic = lock_topic(window.topic)
        require_active(topic)
        if window.step_id != topic.current_step_id:
            raise ApplicationError(MSG_PHOTO_STEP.format(step=topic.current_step.name))
        if topic.attachments.filter(step=window.step, meeting__isnull=True).count() >= MAX_PHOTOS:
            raise ValidationError({"image": f"每次公示最多上传 {MAX_PHOTOS} 张照片"})
        attachment = Attachment(topic=topic, step=window.step, caption=caption[:150], uploaded_by=actor)
        attachment.image.save(cleaned.content.name, cleaned.content, save=False)
        attachment.thumbnail.save(cleaned.thumbnail.name, cleaned.thumbnail, save=False)
        attachment.save()
        record_event(
            topic=topic, actor=actor, kind=EventKind.PUBLICITY_PHOTO, step=window.step, note=caption[:200]
        )
        audit_record(actor=actor, action="publicity.photo", target=window, path=topic.path)
    return attachment


def objection_lodge(*, actor, window: PublicityWindow, text: str) -> Objection:
    """A resident's objection while the notice runs (before its end by the database clock)."""
    topic = window.topic
    access.require(actor, "consultation.object", topic.path)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "请填写异议内容"})
    if len(text) > 2000:
        raise ValidationError({"text": "异议内容不超过 2000 字"})
    with transaction.atomic():
        # Locked so the sweep cannot close the window between the check and the insert.
        open_now = (
            PublicityWindow.objects.select_for_update()
            .filter(pk=window.pk, closed_at__isnull=True, ends_at__gt=Now())
            .first()
        )
        if open_now is None:
            raise ApplicationError(MSG_PUBLICITY_CLOSED)
        objection = Objection.objects.create(window=open_now, author=actor, text=text)
        record_event(topic=topic, actor=actor, kind=EventKind.OBJECTION, step=open_now.step, note=text[:200])
        audit_record(actor=actor, action="publicity.objection", target=objection, path=topic.path)
        notify(
            user_ids=staff_ids(topic.path),
            key=f"consultation:objection:{objection.pk}",
            title=f"公示收到异议：{topic.title}",
            body=text[:200],
            url=topic_url(topic),
        )
    return objection


def objection_reply(*, actor, objection: Objection, reply: str) -> Objection:
    topic = objection.window.topic
    access.require(actor, "consultation.manage", topic.path)
    reply = (reply or "").strip()
    if not reply:
        raise ValidationError({"reply": "请填写答复内容"})
    with transaction.atomic():
        updated = Objection.objects.filter(pk=objection.pk, replied_at__isnull=True).update(
            reply=reply, replied_by=actor, replied_at=now()
        )
        if not updated:
            raise ApplicationError("该异议已答复")
        record_event(
            topic=topic,
            actor=actor,
            kind=EventKind.OBJECTION_REPLIED,
            step=objection.window.step,
            note=reply[:200],
        )
        audit_record(actor=actor, action="publicity.reply", target=objection, path=topic.path)
        notify(
            user_ids=[objection.author_id],
            key=f"consultation:objection:{objection.pk}:reply",
            title=f"您对「{topic.title}」的异议已答复",
            body=reply[:200],
            url=topic_url(topic),
        )
    return Objection.objects.get(pk=objection.pk)


def publicity_close_due(*, limit: int = 500) -> int:
    """The beat sweep: closes every notice whose period has ended by the database clock.

    Each due row is claimed with SKIP LOCKED and closed by a conditional update, so two
    sweeps running at once (or one running twice) close it — and write its history — once.
    """
    closed = 0
    with transaction.atomic():
        due = list(
            PublicityWindow.objects.select_for_update(skip_locked=True)
            .filter(closed_at__isnull=True, ends_at__lte=Now())
            .order_by("ends_at")[:limit]
        )
        for window in due:
            if not PublicityWindow.objects.filter(pk=window.pk, closed_at__isnull=True).update(
                closed_at=Now()
            ):
                continue
            closed += 1
            topic = Topic.objects.select_related("current_step").get(pk=window.topic_id)
            objections = window.objections.count()
            record_event(
                topic=topic,
                actor=None,
                kind=EventKind.PUBLICITY_CLOSED,
                step=window.step,
                note=f"公示期满，收到异议 {objections} 条",
            )
            audit_record(actor=None, action="publicity.close", target=window, path=topic.path)
            notify(
                user_ids=staff_ids(topic.path),
                key=f"consultation:publicity:{window.pk}:closed",
                title=f"公示期满：{window.title}",
                body=f"收到异议 {objections} 条",
                url=topic_url(topic),
            )
    return closed
