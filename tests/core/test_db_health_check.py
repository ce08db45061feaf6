"""The per-request connection health check (qionglai/core/db/base.py): a connection the server
dropped between two requests is replaced before the request's first query, as with Django's own
check, and a quiet connection is not asked `SELECT 1` first."""

from __future__ import annotations

import select

import psycopg
import pytest
from django.conf import settings
from django.db import connection

pytestmark = [
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="the socket check is PostgreSQL's backend"),
    pytest.mark.django_db(transaction=True),  # outside a test transaction, as a request runs
]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _next_request() -> None:
    # what Django does between two requests of a process (request_started/finished)
    connection.close_if_unusable_or_obsolete()


def _count_usable_calls(monkeypatch) -> list[int]:
    calls = []
    real = connection.is_usable

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(connection, "is_usable", counting)
    return calls


def test_it_is_the_backend_the_settings_name():
    assert connection.settings_dict["ENGINE"] == "qionglai.core.db"
    assert connection.health_check_enabled


def test_it_asks_no_select_1_of_a_quiet_connection(monkeypatch):
    pid = _backend_pid()
    calls = _count_usable_calls(monkeypatch)
    _next_request()
    assert _backend_pid() == pid
    assert calls == []


def test_it_replaces_a_connection_the_server_dropped_between_requests(monkeypatch):
    pid = _backend_pid()
    dsn = connection.get_connection_params()
    with psycopg.connect(
        dbname=dsn["dbname"],
        user=dsn.get("user"),
        host=dsn.get("host"),
        port=dsn.get("port"),
        autocommit=True,
    ) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    # the server's goodbye reaches the socket (bounded wait, no sleep)
    poller = select.poll()
    poller.register(connection.connection.pgconn.socket, select.POLLIN | select.POLLHUP)
    assert poller.poll(5000)
    calls = _count_usable_calls(monkeypatch)
    _next_request()
    assert _backend_pid() != pid  # a new connection, not an OperationalError (a 500)
    assert calls == [1]  # the socket had news: Django's own check ran and failed
