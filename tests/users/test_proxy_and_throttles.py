"""Lockout and throttles key on the real client behind a reverse proxy (issue #12 §2)."""

from __future__ import annotations

import pytest

from qionglai.core.api import MSG_THROTTLED
from qionglai.users.models import User

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # the reverse proxy: every request arrives from it


def login_through_proxy(client, username, password, *, client_addr, spoofed="198.51.100.7"):
    # the proxy appends the address it saw; whatever the client wrote stays on the left
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"{spoofed}, {client_addr}",
    )


@pytest.fixture
def behind_one_proxy(settings):
    settings.PROXY_COUNT = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


def test_an_attacker_behind_the_proxy_cannot_lock_the_owner_out(client, rita, settings, behind_one_proxy):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login_through_proxy(client, "rita", "wrong", client_addr="203.0.113.66")
    assert login_through_proxy(client, "rita", "pass-12345", client_addr="203.0.113.66").status_code == 429
    owner = login_through_proxy(client, "rita", "pass-12345", client_addr="203.0.113.10")
    assert owner.status_code == 302


def test_a_forged_forwarded_for_does_not_escape_the_lockout(client, rita, settings, behind_one_proxy):
    for i in range(settings.AXES_FAILURE_LIMIT):
        login_through_proxy(client, "rita", "wrong", client_addr="203.0.113.66", spoofed=f"192.0.2.{i}")
    locked = login_through_proxy(
        client, "rita", "pass-12345", client_addr="203.0.113.66", spoofed="192.0.2.99"
    )
    assert locked.status_code == 429


def test_a_username_and_its_phone_number_share_one_lockout_counter(client, rita, settings):
    User.objects.filter(pk=rita.pk).update(phone="13912345678")
    half = settings.AXES_FAILURE_LIMIT // 2
    for _ in range(half):
        client.post("/accounts/login/", {"username": "rita", "password": "x"}, REMOTE_ADDR="10.9.9.9")
    for _ in range(settings.AXES_FAILURE_LIMIT - half):
        client.post("/accounts/login/", {"username": "13912345678", "password": "x"}, REMOTE_ADDR="10.9.9.9")
    locked = client.post(
        "/accounts/login/", {"username": "rita", "password": "pass-12345"}, REMOTE_ADDR="10.9.9.9"
    )
    assert locked.status_code == 429


def test_the_token_endpoint_throttle_ignores_rotating_forwarded_for_values(api, rita, behind_one_proxy):
    statuses = []
    for i in range(25):  # the token scope allows 20 a minute
        answer = api.post(
            "/api/v1/auth/token/",
            {"username": "rita", "password": "wrong"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.5",
        )
        statuses.append(answer.status_code)
    assert statuses.count(429) >= 5
    assert answer.status_code == 429
    body = answer.json()
    assert set(body) == {"message", "fields"}
    wait = int(answer["Retry-After"])
    assert wait >= 1
    assert body["message"] == MSG_THROTTLED.format(wait=wait)


def test_another_client_behind_the_same_proxy_is_not_throttled(api, rita, behind_one_proxy):
    for i in range(25):
        api.post(
            "/api/v1/auth/token/",
            {"username": "rita", "password": "wrong"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.5",
        )
    other = api.post(
        "/api/v1/auth/token/",
        {"username": "rita", "password": "pass-12345"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.6",
    )
    assert other.status_code == 200


def test_every_api_view_has_the_default_anon_and_user_throttles():
    from rest_framework.settings import api_settings
    from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

    # qionglai.users.throttle's one-round-trip versions of DRF's classes
    assert any(issubclass(c, AnonRateThrottle) for c in api_settings.DEFAULT_THROTTLE_CLASSES)
    assert any(issubclass(c, UserRateThrottle) for c in api_settings.DEFAULT_THROTTLE_CLASSES)
