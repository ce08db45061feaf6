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


# digest → (user id, expiry) of the tokens this process has accepted: a token's user never
# changes, so its rates can be counted in the same round trip as its identity is read
# (throttle.entry_and_rates); the expiry keeps a token that has run out from being counted.
# Only a hint: the entry read with it decides, as always. Bounded, not evicted: tokens are few.
_accepted: dict[str, tuple[int, object]] = {}
ACCEPTED_MAX = 10_000


class ExpiringTokenAuthentication(authentication.TokenAuthentication):
    _request = None

    def authenticate_credentials(self, key):
        from . import identity
        from .services import token_digest

        digest = token_digest(key)
        if identity.enabled():
            # one cache read: the token's state, its user, grants and devices (identity.py),
            # with the token's rates counted in the same call when its user is known here
            found = identity.token_entry(digest, read=self._reader(digest))
            token = found[0] if found else None
        else:
            token = ApiToken.objects.select_related("user").filter(digest=digest).first()
        # checked on every request whatever the source: revocation and deactivation reach the
        # cache by invalidation, expiry by the clock
        try:
            if token is None or not token.user.is_active:
                raise TokenRejected(MSG_UNKNOWN_KEY)
            if token.revoked_at is not None:
                raise TokenRejected(MSG_REVOKED)
            if token.expires_at <= timezone.now():
                raise TokenRejected(MSG_EXPIRED)
        except TokenRejected:
            _accepted.pop(digest, None)
            raise
        if digest not in _accepted:
            if len(_accepted) >= ACCEPTED_MAX:
                _accepted.clear()
            _accepted[digest] = (token.user_id, token.expires_at)
        return token.user, token

    def _reader(self, digest: str):
        from . import throttle

        known = _accepted.get(digest)
        request = self._request
        if known is None or request is None or known[1] <= timezone.now():
            return None
        view = (getattr(request, "parser_context", None) or {}).get("view")

        def read(key, tombstone):
            return throttle.entry_and_rates(request, view, key=key, user_id=known[0], tombstone=tombstone)

        return read

    def authenticate(self, request):
        self._request = request
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
