"""Incident photos in two halves (design §12 within §11's request budget).

In the request, `photos_inspect` runs the cheap checks (bytes, header, format, pixel limit and
bombs, a 1/8-scale JPEG decode, GPS) and `photos_quarantine` stores the untrusted original
where nothing serves it. After commit a task runs `incident_photo_process`: the full decode,
re-encode, EXIF strip and thumbnail of clean_image, then the photo becomes READY, or REJECTED
with an event in the incident's history. Only READY photos are ever served.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from qionglai.core.images import MSG_BROKEN, InspectedImage, clean_inspected_image, inspect_image

from ..models import EventKind, Incident, IncidentPhoto, PhotoStatus
from ._common import enqueue, record, tell

log = logging.getLogger(__name__)

MAX_PHOTOS = 9
MSG_TOO_MANY_PHOTOS = f"每次最多上传 {MAX_PHOTOS} 张照片"
MSG_PHOTO_MISSING = "照片原件已丢失，请重新上传"
MSG_PHOTO_REJECTED = "照片未通过检查：{reason}"
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
STUCK_AFTER = timedelta(minutes=10)
# What a handler needs to read a sign or a crack. The report page already scales to 1,280 px on
# the phone; a full camera original sent through the API (6000 px, ~0.4 s to decode in full)
# is decoded at a reduced DCT scale and stored at this size instead.
STORED_MAX_SIDE = 1600


def photos_inspect(photos: Sequence) -> list[InspectedImage]:
    """Every file is checked before anything is stored: one bad file refuses the whole report."""
    photos = [p for p in (photos or ()) if p is not None]
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": MSG_TOO_MANY_PHOTOS})
    return [inspect_image(p, field="photos") for p in photos]


def photos_quarantine(
    *, incident: Incident, inspected: Sequence[InspectedImage], kind: str, actor, event
) -> list[int]:
    """Inside the caller's transaction: the originals go to quarantine and their rows are
    written in one INSERT; the processing task is sent after commit."""
    if not inspected:
        return []
    uploader = actor if getattr(actor, "is_authenticated", False) else None
    rows = []
    stored: list[str] = []
    try:
        for item in inspected:
            photo = IncidentPhoto(
                incident=incident,
                event=event,
                kind=kind,
                status=PhotoStatus.PROCESSING,
                width=item.width,
                height=item.height,
                uploaded_by=uploader,
            )
            photo.quarantine.save(f"photos.{EXTENSIONS[item.format]}", ContentFile(item.raw), save=False)
            stored.append(photo.quarantine.name)
            rows.append(photo)
        rows = IncidentPhoto.objects.bulk_create(rows)
    except BaseException:
        # the transaction will roll back; its files must not outlive it
        for name in stored:
            IncidentPhoto.quarantine.field.storage.delete(name)
        raise
    ids = [p.pk for p in rows]
    enqueue("grids.tasks.process_photos", ids)
    return ids


def incident_photo_process(*, photo_id: int) -> str:
    """Pre: the photo is PROCESSING with its original in quarantine. Post: it is READY with a
    re-encoded image and thumbnail (EXIF gone) and the original deleted, or REJECTED with the
    reason, the original deleted, a PHOTO_REJECTED event and the uploader told. A photo no
    longer PROCESSING is left alone, so a retried or duplicated task changes nothing.
    Returns the photo's status."""
    storage = IncidentPhoto.quarantine.field.storage
    with transaction.atomic():
        # the row lock makes a duplicate delivery wait, then see the outcome and stop
        photo = (
            IncidentPhoto.objects.select_for_update(of=("self",))
            .select_related("incident")
            .filter(pk=photo_id)
            .first()
        )
        if photo is None or photo.status != PhotoStatus.PROCESSING:
            return photo.status if photo else ""
        original = photo.quarantine.name
        try:
            with storage.open(original, "rb") as f:
                raw = f.read()
        except (FileNotFoundError, ValueError):
            cleaned, reason = None, MSG_PHOTO_MISSING
        else:
            try:
                cleaned, reason = clean_inspected_image(raw, field="photos", max_side=STORED_MAX_SIDE), ""
            except ValidationError as error:
                cleaned, reason = None, error.message_dict["photos"][0]
            except Exception:
                # untrusted bytes that make the decoder fail in some unforeseen way are refused,
                # not retried for ever
                log.warning("incident photo %s failed to decode", photo_id, exc_info=True)
                cleaned, reason = None, MSG_BROKEN
        now = timezone.now()
        photo.processed_at = now
        photo.quarantine = ""
        if cleaned is not None:
            photo.image.save(cleaned.content.name, cleaned.content, save=False)
            photo.thumbnail.save(cleaned.thumbnail.name, cleaned.thumbnail, save=False)
            photo.width, photo.height = cleaned.width, cleaned.height
            photo.status = PhotoStatus.READY
        else:
            photo.status = PhotoStatus.REJECTED
            photo.error = reason[:200]
            incident = photo.incident
            record(
                incident,
                kind=EventKind.PHOTO_REJECTED,
                actor=None,
                note=MSG_PHOTO_REJECTED.format(reason=reason),
                data={"photo": photo.pk, "kind": photo.kind},
                at=now,
            )
            tell(
                incident,
                [photo.uploaded_by_id],
                key=f"photo-rejected:{photo.pk}",
                title=f"事件 #{incident.pk} 的一张照片未通过检查",
                body=MSG_PHOTO_REJECTED.format(reason=reason),
            )
        photo.save(
            update_fields=[
                "status",
                "image",
                "thumbnail",
                "width",
                "height",
                "error",
                "quarantine",
                "processed_at",
            ]
        )
        if original:
            transaction.on_commit(lambda: storage.delete(original), robust=True)
    log.info("incident photo %s %s", photo_id, photo.status)
    return photo.status


def photos_resend_stuck(*, now=None) -> int:
    """Photos still PROCESSING long after upload (their task was lost: broker down at commit,
    a purged queue) are sent again; processing is idempotent, so a late original is harmless."""
    now = now or timezone.now()
    ids = list(
        IncidentPhoto.objects.filter(
            status=PhotoStatus.PROCESSING, uploaded_at__lt=now - STUCK_AFTER
        ).values_list("pk", flat=True)[:500]
    )
    if ids:
        enqueue("grids.tasks.process_photos", ids)
    return len(ids)
