from django.db import transaction
from rest_framework.authtoken.models import Token

from qionglai.core.audit import audit_record


@transaction.atomic
def token_issue(*, user) -> Token:
    """Returns the user's API token, creating (and auditing) it the first time. Pre: the caller
    has authenticated `user` with their password."""
    token, created = Token.objects.get_or_create(user=user)
    if created:
        audit_record(actor=user, action="api_token.issue", target=user, summary="签发 API 令牌")
    return token
