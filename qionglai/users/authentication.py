"""API authentication: expiring, revocable tokens, and session logins that passed the second
factor (design §12)."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken

MSG_UNKNOWN_KEY = "令牌无效"
MSG_EXPIRED = "令牌已过期，请重新签发"
MSG_REVOKED = "令牌已撤销"
MSG_SECOND_FACTOR = "请先在网页上完成动态验证码验证"


class TokenRejected(exceptions.AuthenticationFailed):
    """A presented token that does not work: the exception handler answers 401 with
    `WWW-Authenticate: Token` whatever authenticator comes first in the view."""


class ExpiringTokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        from . import identity
        from .services import token_digest

        if identity.enabled():
            # one cache read: the token's state, its user, grants and devices (identity.py)
            found = identity.token_entry(token_digest(key))
            token = found[0] if found else None
        else:
            token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
        # checked on every request whatever the source: revocation and deactivation reach the
        # cache by invalidation, expiry by the clock
        if token is None or not token.user.is_active:
            raise TokenRejected(MSG_UNKNOWN_KEY)
        if token.revoked_at is not None:
            raise TokenRejected(MSG_REVOKED)
        if token.expires_at <= timezone.now():
            raise TokenRejected(MSG_EXPIRED)
        return token.user, token

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed as error:
            if isinstance(error, TokenRejected):
                raise
            raise TokenRejected(error.detail) from error


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """A browser session of a staff account counts for the API only once its second factor is
    verified (or while its grace logins last), like the pages."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        from .second_factor import Stage, stage

        if stage(request._request.user) in (Stage.VERIFY, Stage.ENROL):
            raise exceptions.PermissionDenied(MSG_SECOND_FACTOR)
        return result
