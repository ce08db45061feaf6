from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from qionglai.core.audit import audit_record

from .models import ApiToken

MSG_NOT_YOURS = "只能撤销自己的令牌"


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def token_issue(*, user, label: str = "") -> tuple[ApiToken, str]:
    """A new API token for `user` and its key (shown once; only its digest is stored).
    Pre: the caller checked the password and, for staff, the second factor (design §12).
    Post: the token expires after settings.API_TOKEN_DAYS; the issue is audited."""
    key = secrets.token_hex(20)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        digest=token_digest(key),
        prefix=key[:8],
        label=label[:60],
        created_at=now,
        expires_at=now + timedelta(days=settings.API_TOKEN_DAYS),
    )
    audit_record(actor=user, action="api_token.issue", target=user, summary=f"签发 API 令牌 {token.prefix}…")
    return token, key


@transaction.atomic
def token_revoke(*, user, token_id: int) -> ApiToken:
    """Revokes one of the user's own tokens; revoking twice is harmless."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None or token.user_id != user.pk:
        raise PermissionDenied(MSG_NOT_YOURS)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=user, action="api_token.revoke", target=user, summary=f"撤销 API 令牌 {token.prefix}…"
        )
    return token
