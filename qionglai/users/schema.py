"""OpenAPI descriptions of the project's authenticators (imported when the app is ready)."""

from drf_spectacular.authentication import SessionScheme


class VerifiedSessionScheme(SessionScheme):
    target_class = "qionglai.users.authentication.VerifiedSessionAuthentication"
