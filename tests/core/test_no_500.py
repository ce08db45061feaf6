"""Hostile input never yields a 500: every write endpoint in the OpenAPI schema is called with
junk bodies (wrong types, absurd numbers, unknown ids) by an admin, who passes every permission
check, on real objects (the `world` fixture: one of each kind, so `{id}` is found and the
request reaches validation and the services, not a 404)."""

import re

import pytest

from ..conftest import api_as
from .conftest import kind_of

pytestmark = pytest.mark.django_db

JUNK_BODIES = [
    {},
    {"x": "y"},
    {
        "amount": "abc",
        "points": -(10**12),
        "lat": "north",
        "lng": 1e300,
        "id": "1; DROP TABLE",
        "page_size": -1,
    },
    {
        "category": 999999,
        "urgency": "ultraviolet",
        "description": "\x00" * 3,
        "community": "abc",
        "town": [1, 2],
    },
    {"month": "2026-13-45", "revenue": "1e999", "net_profit": None, "status": {"a": 1}, "code": "码" * 500},
]


def write_operations(schema: dict, world: dict[str, int]):
    for path, operations in schema["paths"].items():
        for method in ("post", "put", "patch"):
            if method in operations:
                real = str(world[kind_of(path)]) if "{id}" in path else ""
                yield method, re.sub(r"\{[^}]+\}", real, path)


def test_no_write_endpoint_answers_junk_with_a_500(root, world):
    client = api_as(root)
    schema = client.get("/api/schema/?format=json").json()
    operations = sorted(set(write_operations(schema, world)))
    assert len(operations) > 30  # every app's writes are in the schema
    failures, found = [], 0
    for method, path in operations:
        for body in JUNK_BODIES:
            response = getattr(client, method)(path, body, format="json")
            if response.status_code >= 500:
                failures.append((method, path, body, response.status_code))
            found += response.status_code != 404
    assert failures == []
    # the ids are real: (nearly) every call got past the lookup to validation or a service
    assert found >= 0.9 * len(operations) * len(JUNK_BODIES)


@pytest.mark.parametrize("junk_id", ["abc", "9" * 30, "-1", "1.5"])
def test_no_detail_endpoint_answers_a_junk_id_with_a_500(root, junk_id):
    client = api_as(root)
    client.raise_request_exception = False  # collect every 500, not only the first
    schema = client.get("/api/schema/?format=json").json()
    failures = []
    for path, operations in schema["paths"].items():
        if "{id}" not in path:
            continue
        for method in operations:
            if method not in ("get", "post", "put", "patch"):
                continue
            response = getattr(client, method)(path.replace("{id}", junk_id), {}, format="json")
            if response.status_code >= 500:
                failures.append((method, path, response.status_code))
    assert failures == []
