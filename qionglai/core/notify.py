"""Notifications: an in-app inbox row per user and, where the user has an e-mail address,
a mail through Django's backend. Call `notify()` from a service; delivery happens after the
transaction commits, and the (user, key) constraint makes a retried delivery harmless."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Notification

log = logging.getLogger(__name__)


def deliver(*, user_ids: Iterable[int], key: str, title: str, body: str = "", url: str = "") -> int:
    """Creates the inbox rows now (idempotent per user and key). Returns how many were new."""
    from django.contrib.auth import get_user_model

    created = 0
    users = get_user_model().objects.filter(pk__in=set(user_ids), is_active=True).only("id", "email")
    for user in users:
        try:
            with transaction.atomic():
                Notification.objects.create(
                    user=user, key=key[:160], title=title[:200], body=body, url=url[:300]
                )
        except IntegrityError:
            continue  # already delivered under this key
        created += 1
        if user.email:
            try:
                send_mail(title, f"{body}\n\n{url}".strip(), None, [user.email], fail_silently=False)
            except Exception:
                log.warning("mail to user %s failed for %s", user.pk, key, exc_info=True)
    return created


def notify(*, user_ids: Iterable[int], key: str, title: str, body: str = "", url: str = "") -> None:
    """Schedule delivery after the surrounding transaction commits."""
    ids = list(user_ids)
    if not ids:
        return
    transaction.on_commit(lambda: deliver(user_ids=ids, key=key, title=title, body=body, url=url))


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
