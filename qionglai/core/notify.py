"""Notifications through an outbox (design §12, conventions "background work").

`notify()` is called by a service inside its transaction and writes one `OwedNotice` row per
recipient there, so the notice is owed exactly when the change commits and never otherwise.
After commit a task delivers it (the inbox row, then a mail where the user has an address);
the beat sweep `sweep_notices` delivers anything that task did not (its message lost with
Redis, its worker killed, the database gone for a moment). Both are idempotent on
(user, key): the owed row and the inbox row are unique there, so owing or delivering twice
changes nothing. No mail is ever sent inside a web request, and a failing delivery never turns
a committed change into an error: it stays owed and is tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Notification, OwedNotice

log = logging.getLogger(__name__)
BATCH = 500
MAX_MAIL_ATTEMPTS = 8


def owe(*, user_ids: Iterable[int], key: str, title: str, body: str = "", url: str = "") -> list[str]:
    """Writes the owed rows in the caller's transaction (idempotent per user and key)."""
    ids = sorted({int(u) for u in user_ids if u})
    if not ids:
        return []
    key = key[:160]
    OwedNotice.objects.bulk_create(
        [OwedNotice(user_id=u, key=key, title=title[:200], body=body, url=url[:300]) for u in ids],
        ignore_conflicts=True,
    )
    return [key]


def owe_many(notices: Iterable[tuple[int, str, str, str, str]]) -> int:
    """Bulk form of `owe` for batch writers (the escalation fan-out): (user, key, title, body,
    url) tuples, written in one INSERT that skips rows already owed."""
    rows = [
        OwedNotice(user_id=u, key=k[:160], title=t[:200], body=b, url=url[:300])
        for u, k, t, b, url in notices
        if u
    ]
    OwedNotice.objects.bulk_create(rows, ignore_conflicts=True, batch_size=BATCH)
    return len(rows)


def _send_soon(keys: list[str]) -> None:
    """After commit: ask a worker to deliver. If the broker is down the rows stay owed and the
    sweep delivers them; the committed change is not turned into an error."""
    from .tasks import deliver_notices

    try:
        deliver_notices.delay(keys)
    except Exception:
        log.warning("delivery of %s not queued; the sweep will deliver it", keys, exc_info=True)


def notify(*, user_ids: Iterable[int], key: str, title: str, body: str = "", url: str = "") -> None:
    """Owe the notice now (inside the caller's transaction); deliver after commit."""
    keys = owe(user_ids=user_ids, key=key, title=title, body=body, url=url)
    if keys:
        transaction.on_commit(lambda: _send_soon(keys))


def deliver_owed(*, keys: list[str] | None = None, batch: int = BATCH, with_mail: bool = True) -> int:
    """Delivers undelivered owed notices (those of `keys`, or all): writes the inbox rows and
    stamps the owed rows in one transaction per batch, rows claimed with SKIP LOCKED so two
    deliverers never take the same one; then sends the mails owed (`with_mail=False` leaves them
    owed, for a caller that sends them once at the end: the demo build's thousands of sweeps,
    each of which would otherwise read the owed table for mail nobody there has an address
    for). Returns inbox rows delivered."""
    delivered = 0
    while True:
        with transaction.atomic():
            qs = OwedNotice.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                delivered_at__isnull=True
            )
            if keys is not None:
                qs = qs.filter(key__in=keys)
            # in the order of the partial index on undelivered rows: the sweep reads the few owed
            # rows, not the whole table of delivered ones (SQLite scanned it ordered by pk alone)
            rows = list(qs.select_related("user").order_by("created_at", "pk")[:batch])
            if not rows:
                break
            live = [r for r in rows if r.user.is_active]
            Notification.objects.bulk_create(
                [
                    Notification(user_id=r.user_id, key=r.key, title=r.title, body=r.body, url=r.url)
                    for r in live
                ],
                ignore_conflicts=True,  # delivered before under this key: nothing new
            )
            OwedNotice.objects.filter(pk__in=[r.pk for r in rows]).update(
                delivered_at=timezone.now(), attempts=F("attempts") + 1
            )
            mail = [r.pk for r in live if r.user.email]
            if mail:
                OwedNotice.objects.filter(pk__in=mail).update(mail_pending=True)
        delivered += len(live)
        if len(rows) < batch:
            break
    if with_mail:
        mail_owed(keys=keys)
    return delivered


def mail_owed(*, keys: list[str] | None = None, batch: int = 200) -> int:
    """Sends the mails owed. A mail that fails stays owed (tried again by the sweep, up to
    MAX_MAIL_ATTEMPTS). A worker killed between the send and the stamp may send one mail twice;
    the inbox row, the record that counts, is never doubled."""
    sent = 0
    with transaction.atomic():
        qs = OwedNotice.objects.select_for_update(skip_locked=True, of=("self",)).filter(mail_pending=True)
        if keys is not None:
            qs = qs.filter(key__in=keys)
        for row in qs.select_related("user").order_by("created_at", "pk")[:batch]:
            try:
                send_mail(
                    row.title,
                    f"{row.body}\n\n{row.url}".strip(),
                    settings.DEFAULT_FROM_EMAIL,
                    [row.user.email],
                    fail_silently=False,
                )
            except Exception as error:
                attempts = row.attempts + 1
                log.warning("mail to user %s failed for %s (attempt %s)", row.user_id, row.key, attempts)
                OwedNotice.objects.filter(pk=row.pk).update(
                    attempts=attempts,
                    last_error=f"{error.__class__.__name__}: {error}"[:200],
                    mail_pending=attempts < MAX_MAIL_ATTEMPTS,
                )
                continue
            OwedNotice.objects.filter(pk=row.pk).update(mail_pending=False)
            sent += 1
    return sent


def deliver(*, user_ids: Iterable[int], key: str, title: str, body: str = "", url: str = "") -> int:
    """Owe and deliver at once, for code already running in a task. Returns how many inbox
    rows were new."""
    with transaction.atomic():
        keys = owe(user_ids=user_ids, key=key, title=title, body=body, url=url)
    return deliver_owed(keys=keys) if keys else 0


def notification_mark_read(*, user, notification: Notification) -> bool:
    """Marks one of the user's own inbox items read; a second call changes nothing (compare-and-set)."""
    if notification.user_id != user.pk:
        raise PermissionDenied("只能处理自己的通知")
    return bool(
        Notification.objects.filter(pk=notification.pk, user=user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
    )


def notifications_mark_all_read(*, user, upto_id: int | None = None) -> int:
    """「全部已读」: marks the user's unread inbox items read, only those up to `upto_id` (the
    newest the page showed) so a notice that arrived meanwhile stays unread. One conditional
    UPDATE: a second call, or a double tap, changes nothing. Returns how many it marked."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("只能处理自己的通知")
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if upto_id is not None:
        unread = unread.filter(pk__lte=upto_id)
    return unread.update(read_at=timezone.now())
