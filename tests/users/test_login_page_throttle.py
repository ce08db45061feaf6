"""The HTML login page limits POSTs per client address, whatever the account (issue #12 §2):
past the limit it answers a Chinese 429 page with Retry-After, keyed on the real client behind
the proxy, so neither rotating accounts nor a forged X-Forwarded-For gets round it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"


@pytest.fixture(autouse=True)
def _three_a_minute(settings):
    settings.LOGIN_PAGE_RATE = "3/min"
    settings.PROXY_COUNT = 1


def login(client, username, *, client_addr="203.0.113.66", spoofed="198.51.100.7", password="wrong"):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"{spoofed}, {client_addr}",
    )


def test_it_answers_a_chinese_429_with_retry_after_past_the_limit(client, rita, time_machine):
    time_machine.move_to(timezone.now().replace(second=5), tick=False)
    for name in ("a1", "a2", "a3"):  # a different account each time: axes would not notice
        assert login(client, name).status_code == 200
    refused = login(client, "rita", password="pass-12345")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "55"
    body = refused.content.decode()
    assert "登录尝试过于频繁" in body and "55" in body
    assert "_auth_user_id" not in client.session  # the right password did not get in


def test_a_forged_forwarded_for_does_not_escape_it(client, rita):
    for i in range(3):
        login(client, f"a{i}", spoofed=f"192.0.2.{i}")
    assert login(client, "rita", spoofed="192.0.2.99", password="pass-12345").status_code == 429


def test_another_client_behind_the_same_proxy_still_logs_in(client, rita):
    for i in range(4):
        login(client, f"a{i}")
    assert login(client, "rita", client_addr="203.0.113.10", password="pass-12345").status_code == 302


def test_the_limit_lifts_when_its_minute_is_over(client, rita, time_machine):
    time_machine.move_to(timezone.now().replace(second=5), tick=False)
    for i in range(4):
        login(client, f"a{i}")
    time_machine.move_to(timezone.now() + timedelta(seconds=60), tick=False)
    assert login(client, "rita", password="pass-12345").status_code == 302


def test_showing_the_login_page_is_not_counted(client):
    for _ in range(10):
        assert client.get("/accounts/login/", REMOTE_ADDR=PROXY).status_code == 200
    assert login(client, "a1").status_code == 200
