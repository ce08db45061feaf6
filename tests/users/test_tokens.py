"""API tokens: issued to staff only with the second factor, expiring, revocable, 401 when dead."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from qionglai.users.api import MSG_OTP_NOT_ENROLLED, MSG_OTP_REQUIRED
from qionglai.users.authentication import MSG_EXPIRED, MSG_REVOKED
from qionglai.users.models import ApiToken
from tests.conftest import totp_now

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def test_a_resident_gets_a_token_with_the_password(api, rita):
    answer = api.post(TOKEN_URL, {"username": "rita", "password": "pass-12345"})
    assert answer.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    assert api.get("/api/v1/me/").json()["username"] == "rita"


def test_staff_get_no_token_without_the_code(api, carol):
    TOTPDevice.objects.create(user=carol, name="手机验证器", confirmed=True)
    answer = api.post(TOKEN_URL, {"username": "carol", "password": "pass-12345"})
    assert answer.status_code == 400
    assert answer.json()["fields"]["otp"] == [MSG_OTP_REQUIRED]
    assert not ApiToken.objects.exists()


def test_staff_not_yet_enrolled_get_no_token(api, carol):
    answer = api.post(TOKEN_URL, {"username": "carol", "password": "pass-12345", "otp": "123456"})
    assert answer.status_code == 400
    assert answer.json()["fields"]["otp"] == [MSG_OTP_NOT_ENROLLED]


def test_staff_get_a_token_with_the_code_and_it_expires_after_the_setting(api, carol, settings):
    device = TOTPDevice.objects.create(user=carol, name="手机验证器", confirmed=True)
    answer = api.post(TOKEN_URL, {"username": "carol", "password": "pass-12345", "otp": totp_now(device)})
    assert answer.status_code == 200
    key = answer.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").status_code == 200
    token = ApiToken.objects.get()
    assert token.expires_at - token.created_at == timedelta(days=settings.API_TOKEN_DAYS)
    assert key not in (token.digest, token.prefix)  # only a digest is stored
    with time_machine.travel(timezone.now() + timedelta(days=settings.API_TOKEN_DAYS, minutes=1)):
        expired = api.get("/api/v1/me/")
    assert expired.status_code == 401
    assert expired["WWW-Authenticate"] == "Token"
    assert expired.json()["message"] == MSG_EXPIRED


def test_an_unknown_token_is_401_not_403(api, rita):
    answer = api.get("/api/v1/me/", HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == "Token"


def test_the_owner_lists_issues_and_revokes_tokens_on_the_security_page(client, api, carol):
    client.force_login(carol)  # password and code
    issued = client.post("/accounts/security/tokens/", {"label": "数据对接"})
    assert issued.status_code == 200
    key = issued.context["key"]
    listing = client.get("/accounts/security/")
    assert "数据对接" in listing.content.decode() and key[:8] in listing.content.decode()
    token = ApiToken.objects.get(user=carol)
    assert client.post(f"/accounts/security/tokens/{token.pk}/revoke/").status_code == 302
    answer = api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert answer.status_code == 401
    assert answer.json()["message"] == MSG_REVOKED
    assert answer["WWW-Authenticate"] == "Token"


def test_nobody_revokes_someone_elses_token(client, carol, dave):
    from qionglai.users.services import token_issue

    token, _ = token_issue(user=dave)
    client.force_login(carol)
    assert client.post(f"/accounts/security/tokens/{token.pk}/revoke/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_password_only_staff_session_cannot_issue_a_token(client, carol, settings):
    from tests.conftest import login_with_password_only

    settings.OTP_GRACE_LOGINS = None  # the grace period opens pages, not tokens
    login_with_password_only(client, carol)
    client.post("/accounts/security/tokens/", {"label": "x"})
    assert not ApiToken.objects.exists()
