"""Hostile bodies and junk paths answer 400/404 in the API's error shape, never a 500 page
(issue #12 §5)."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory

from qionglai.core.parsers import MSG_JSON_BAD, MSG_JSON_DEPTH
from qionglai.core.views import MSG_SERVER_ERROR, server_error

from ..conftest import api_as

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000
MODERATELY_DEEP = "[" * 500 + "]" * 500  # parses, but no body of the API nests like this


@pytest.mark.parametrize("body", [DEEP, MODERATELY_DEEP], ids=["recursion", "depth"])
def test_a_deeply_nested_body_to_the_anonymous_token_endpoint_is_a_400(client, body):
    answer = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["message"] == MSG_JSON_DEPTH


def test_a_deeply_nested_body_to_every_json_write_endpoint_is_a_400(root):
    client = api_as(root)
    schema = client.get("/api/schema/?format=json").json()
    failures = []
    for path, operations in schema["paths"].items():
        for method in ("post", "put", "patch"):
            if method in operations and "{" not in path:
                answer = getattr(client, method)(path, DEEP, content_type="application/json")
                if answer.status_code != 400 or answer.json()["message"] != MSG_JSON_DEPTH:
                    failures.append((method, path, answer.status_code))
    assert failures == []


def test_broken_json_is_a_400_in_chinese(client):
    answer = client.post("/api/v1/auth/token/", "{nope", content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["message"] == MSG_JSON_BAD


def test_a_500_on_an_api_path_answers_json():
    response = server_error(RequestFactory().get("/api/v1/incidents/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"message": MSG_SERVER_ERROR, "fields": {}}


def test_a_500_on_a_page_is_the_html_page():
    response = server_error(RequestFactory().get("/grids/"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_a_non_numeric_open311_request_id_answers_open311s_404_shape(client):
    answer = client.get("/open311/v2/requests/abc.json")
    assert answer.status_code == 404
    body = answer.json()
    assert isinstance(body, list) and body[0]["code"] == 404 and body[0]["description"]


def test_an_unknown_api_path_answers_the_json_404_shape(client):
    answer = client.get("/api/v1/no-such-thing/")
    assert answer.status_code == 404
    assert set(answer.json()) == {"message", "fields"}
