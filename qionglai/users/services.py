from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from qionglai.core.audit import audit_record

from . import access
from .models import PATH_VALIDATOR, ApiToken, Grant, GridPost, Role

MSG_NOT_YOURS = "只能撤销自己的令牌"
MSG_GRANT_DENIED = "只有系统管理员可以授予或撤销角色"
MSG_GRANT_ROLE = "无效的角色"
MSG_GRANT_POST = "无效的网格岗位"
MSG_GRANT_UNIT = "部门经办人和商户需要填写所属单位编码"
MSG_GRANT_DUPLICATE = "该用户在此范围已有相同的角色"


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


def grant_give(*, actor, user, role: str, path: str, post: str = "", unit: str = "") -> Grant:
    """Gives `user` the (role, path) authority. Pre: actor is an admin (access.py). Post: one
    active grant (giving it twice returns the same grant), an audit row, and grant_given sent in
    the transaction so the points accounts it implies open with it."""
    from django.core.exceptions import ValidationError

    from .signals import grant_given

    if not access.is_admin(actor):
        raise PermissionDenied(MSG_GRANT_DENIED)
    role, path, post, unit = str(role), (path or "").strip(), post or "", (unit or "").strip()
    errors = {}
    if role not in Role.values:
        errors["role"] = MSG_GRANT_ROLE
    try:
        PATH_VALIDATOR(path)
    except ValidationError as error:
        errors["path"] = error.messages
    if post and post not in GridPost.values:
        errors["post"] = MSG_GRANT_POST
    if role in (Role.DEPARTMENT_HANDLER, Role.MERCHANT) and not unit:
        errors["unit"] = MSG_GRANT_UNIT
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        existing = (
            Grant.objects.select_for_update()
            .filter(user=user, role=role, path=path, unit=unit, retired_at__isnull=True)
            .first()
        )
        if existing is not None:
            return existing
        grant = Grant.objects.create(user=user, role=role, path=path, post=post, unit=unit)
        audit_record(
            actor=actor,
            action="grant.give",
            target=user,
            path=path,
            summary=f"授予 {grant.get_role_display()} @ {path}"[:255],
            data={"grant": grant.pk, "role": role, "path": path, "post": post, "unit": unit},
        )
        access.forget_grants(user)
        grant_given.send(sender=Grant, grant=grant, actor=actor)
    return grant


def grant_retire(*, actor, grant: Grant) -> Grant:
    """Retires a grant (never deleted: the audit trail refers to it). Retiring twice is
    harmless. Pre: actor is an admin. Post: retired_at set, audited."""
    if not access.is_admin(actor):
        raise PermissionDenied(MSG_GRANT_DENIED)
    with transaction.atomic():
        grant = Grant.objects.select_for_update().get(pk=grant.pk)
        if grant.retired_at is None:
            grant.retired_at = timezone.now()
            grant.save(update_fields=["retired_at"])
            audit_record(
                actor=actor,
                action="grant.retire",
                target=grant.user,
                path=grant.path,
                summary=f"撤销 {grant.get_role_display()} @ {grant.path}"[:255],
                data={"grant": grant.pk},
            )
            access.forget_grants(grant.user)
    return grant
