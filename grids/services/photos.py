"""Incident photos in two halves (design §12 within §11's request budget).

In the request, `photos_inspect` runs the cheap checks (bytes, header, format, pixel limit and
bombs, a 1/8-scale JPEG decode, GPS) and `photos_quarantine` stores the untrusted original
where nothing serves it. After commit one drain task (`photos_drain`, on the worker's own
`photos` queue) claims the pending photos in batches and runs the full decode, re-encode, EXIF
strip and thumbnail of clean_image on each; a photo becomes READY, or REJECTED with an event in
the incident's history. Only READY photos are ever served. Reports coalesce into one queued
drain; the beat sweep makes good a drain message that was lost.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from qionglai.core.images import MSG_BROKEN, InspectedImage, clean_inspected_image, inspect_image

from ..models import EventKind, Incident, IncidentPhoto, PhotoStatus
from ._common import record, tell

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
# The worker claims pending photos in batches (one transaction, one UPDATE each) rather than a
# task and a transaction per photo, which cost ~5x the image work itself (docs/performance.md).
BATCH_SIZE = 16
DRAIN_SECONDS = 30.0  # then the drain hands over to a fresh message, well inside the time limit
DRAIN_TASK = "grids.tasks.drain_photos"
DRAIN_FLAG = "grids:photos:drain-queued"
DRAIN_FLAG_TTL = 60  # seconds: a lost drain message holds back new ones no longer than this


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
    written in one INSERT; after commit a drain of the pending photos is queued (one message
    for many reports: see `photos_schedule_drain`)."""
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
    transaction.on_commit(photos_schedule_drain, robust=True)
    return [p.pk for p in rows]


def photos_schedule_drain(*, force: bool = False) -> bool:
    """Queues one drain unless one is already queued and not yet started (the flag, set here and
    cleared by the drain before its first claim, so a photo committed before this call is
    always seen by a drain that starts after it). A lost message leaves the flag to expire
    after DRAIN_FLAG_TTL, and the beat sweep (`photos_resend_stuck`) sends a drain regardless.
    Returns whether a message was sent."""
    from django.core.cache import cache

    from qionglai.celery import app

    if not force:
        try:
            if not cache.add(DRAIN_FLAG, 1, DRAIN_FLAG_TTL):
                return False
        except Exception:
            # no cache, no coalescing: a message per photo is only slower, never wrong
            log.warning("photo drain flag unavailable; sending a drain anyway", exc_info=True)
    if DRAIN_TASK not in app.tasks:
        # autodiscovery runs when a worker starts; a web process imports the task modules itself
        app.loader.import_default_modules()
    app.tasks[DRAIN_TASK].delay()
    return True


def photos_drain(*, batch_size: int = BATCH_SIZE, budget: float = DRAIN_SECONDS) -> int:
    """Processes every pending photo, `batch_size` at a time: each batch is claimed with
    `SELECT … FOR UPDATE SKIP LOCKED LIMIT n` (two drains at once take disjoint photos, and a
    photo no longer PROCESSING is never claimed), cleaned, and written back with one UPDATE in
    one transaction. Stops at a short batch (a photo committed after that claim queued its own
    drain, because the flag was cleared first) or after `budget` seconds, when it queues the
    next drain itself. A photo whose files could not be written stays PROCESSING for the sweep.
    Returns how many photos reached READY or REJECTED."""
    from django.core.cache import cache

    try:
        cache.delete(DRAIN_FLAG)
    except Exception:
        log.warning("photo drain flag unavailable", exc_info=True)
    started = time.monotonic()
    done = 0
    skip: set[int] = set()
    while True:
        with transaction.atomic():
            claimed = list(
                IncidentPhoto.objects.select_for_update(skip_locked=True)
                .filter(status=PhotoStatus.PROCESSING)
                .exclude(pk__in=skip)
                .order_by("pk")[:batch_size]
            )
            if claimed:
                finished, failed = _process_locked(claimed)
                done += len(finished)
                skip.update(failed)
        if len(claimed) < batch_size:
            return done
        if time.monotonic() - started > budget:
            photos_schedule_drain()
            return done


def incident_photo_process(*, photo_id: int) -> str:
    """Pre: the photo is PROCESSING with its original in quarantine. Post: it is READY with a
    re-encoded image and thumbnail (EXIF gone) and the original deleted, or REJECTED with the
    reason, the original deleted, a PHOTO_REJECTED event and the uploader told. A photo no
    longer PROCESSING is left alone, so a retried or duplicated call changes nothing: unlike the
    drain, this one waits for a row another worker holds, then sees its outcome.
    Returns the photo's status."""
    with transaction.atomic():
        photo = IncidentPhoto.objects.select_for_update(of=("self",)).filter(pk=photo_id).first()
        if photo is None or photo.status != PhotoStatus.PROCESSING:
            return photo.status if photo else ""
        _process_locked([photo])
    log.info("incident photo %s %s", photo_id, photo.status)
    return photo.status


def _process_locked(photos: list[IncidentPhoto]) -> tuple[list[IncidentPhoto], list[int]]:
    """Inside the caller's transaction, on rows it has locked: decode, re-encode, thumbnail and
    write each photo's files, then one UPDATE for all of them; rejections get their event and
    notice. Originals are deleted after commit; files written for a batch that rolls back are
    deleted at once. Returns (photos finished, ids left PROCESSING after a storage error)."""
    storage = IncidentPhoto.quarantine.field.storage
    images = IncidentPhoto.image.field.storage
    now = timezone.now()
    written: list[str] = []
    made: set[str] = set()
    finished: list[IncidentPhoto] = []
    failed: list[int] = []
    rejected: list[tuple[IncidentPhoto, str]] = []
    try:
        for photo in photos:
            cleaned, reason = _clean(storage, photo)
            if cleaned is not None:
                # random names: no collision loop, and nobody guesses the next photo's name
                stem = uuid.uuid4().hex
                ext = cleaned.content.name.rsplit(".", 1)[1]
                mine: list[str] = []
                try:
                    for name, content in (
                        (f"incidents/{now:%Y/%m}/{stem}.{ext}", cleaned.content),
                        (f"incidents/thumbs/{now:%Y/%m}/{stem}.jpg", cleaned.thumbnail),
                    ):
                        _write_new(images, name, content.read(), made)
                        mine.append(name)
                except OSError:
                    # the disk, not the photo: leave it PROCESSING for a later drain or the sweep
                    log.exception("incident photo %s could not be stored", photo.pk)
                    for name in mine:
                        images.delete(name)
                    failed.append(photo.pk)
                    continue
                written.extend(mine)
                image, thumb = mine
                photo.image, photo.thumbnail = image, thumb
                photo.width, photo.height = cleaned.width, cleaned.height
                photo.status = PhotoStatus.READY
            else:
                photo.status = PhotoStatus.REJECTED
                photo.error = reason[:200]
                rejected.append((photo, reason))
            photo.original, photo.quarantine = photo.quarantine.name, ""
            photo.processed_at = now
            finished.append(photo)
        if finished:
            _update_all(finished, now)
        if rejected:
            incidents = Incident.objects.in_bulk({p.incident_id for p, _ in rejected})
            for photo, reason in rejected:
                incident = incidents[photo.incident_id]
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
    except BaseException:
        for name in written:
            images.delete(name)
        raise
    originals = [p.original for p in finished if p.original]

    def delete_originals() -> None:
        for name in originals:
            storage.delete(name)

    transaction.on_commit(delete_originals, robust=True)
    return finished, failed


def _write_new(storage, name: str, data: bytes, made: set[str]) -> None:
    """The final file, written once, straight to its random name (O_EXCL: never over another
    file); Storage.save's name checks, directory walk and chunked copy cost more than the write."""
    path = Path(storage.path(name))
    if path.parent not in made:
        path.parent.mkdir(parents=True, exist_ok=True)
        made.add(path.parent)
    with path.open("xb") as f:
        f.write(data)


def _update_all(photos: list[IncidentPhoto], now) -> None:
    """One UPDATE … FROM (VALUES …) for the batch. bulk_update's CASE WHEN per field and row
    cost more to build in Python (~6 ms per photo) than the image work it follows."""
    if connection.vendor != "postgresql":  # the embedded demo's SQLite: a handful of photos
        IncidentPhoto.objects.bulk_update(
            photos, ["status", "image", "thumbnail", "width", "height", "error", "quarantine", "processed_at"]
        )
        return
    table = IncidentPhoto._meta.db_table
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(photos))
    params: list = [now]
    for p in photos:
        params += [p.pk, p.status, p.image.name or "", p.thumbnail.name or "", p.width, p.height, p.error]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS p SET status = v.status, image = v.image, thumbnail = v.thumbnail,"  # noqa: S608 - our table name, values as parameters
            " width = v.width::integer, height = v.height::integer, error = v.error,"
            " quarantine = '', processed_at = %s"
            f" FROM (VALUES {rows}) AS v(id, status, image, thumbnail, width, height, error)"
            " WHERE p.id = v.id::bigint",
            params,
        )


def _clean(storage, photo: IncidentPhoto):
    """(CleanImage, "") or (None, the reason it is refused). Untrusted bytes that make the
    decoder fail in some unforeseen way are refused, not retried for ever."""
    try:
        with storage.open(photo.quarantine.name, "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ValueError):
        return None, MSG_PHOTO_MISSING
    try:
        return clean_inspected_image(raw, field="photos", max_side=STORED_MAX_SIDE), ""
    except ValidationError as error:
        return None, error.message_dict["photos"][0]
    except Exception:
        log.warning("incident photo %s failed to decode", photo.pk, exc_info=True)
        return None, MSG_BROKEN


def photos_resend_stuck(*, now=None) -> int:
    """Photos still PROCESSING long after upload (a drain message lost: broker down at commit,
    a purged queue, a flushed Redis) get a drain sent regardless of the coalescing flag;
    processing is exactly once per photo, so a drain too many is harmless."""
    now = now or timezone.now()
    stuck = IncidentPhoto.objects.filter(
        status=PhotoStatus.PROCESSING, uploaded_at__lt=now - STUCK_AFTER
    ).count()
    if stuck:
        transaction.on_commit(lambda: photos_schedule_drain(force=True), robust=True)
    return stuck
