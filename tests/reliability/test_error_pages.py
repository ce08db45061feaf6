"""With the database gone, a server error still answers a readable page (and the API JSON),
not the bare 500 that gunicorn gives when the error page itself fails."""

from pathlib import Path

import pytest
import yaml
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_gone(monkeypatch):
    def dead(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    def kill():
        monkeypatch.setattr(CursorWrapper, "execute", dead)
        monkeypatch.setattr(CursorWrapper, "executemany", dead)

    return kill


def test_a_page_whose_database_is_gone_answers_the_chinese_500_page(carol, database_gone):
    client = Client(raise_request_exception=False)
    client.force_login(carol)
    database_gone()
    response = client.get("/grids/incidents/")
    assert response.status_code == 500
    assert "系统出错了" in response.content.decode()


def test_an_api_call_whose_database_is_gone_answers_json(carol, database_gone):
    client = Client(raise_request_exception=False)
    client.force_login(carol)
    database_gone()
    response = client.get("/api/v1/incidents/")
    assert response.status_code == 500
    assert response.json()["message"].startswith("系统出错了")


def test_a_404_renders_even_when_the_menu_cannot_be_read(carol, database_gone, rf):
    from qionglai.core.context_processors import navigation

    request = rf.get("/nowhere")
    request.user = carol
    database_gone()
    context = navigation(request)
    assert context["nav_items"] == []
    assert context["unread_notifications"] == 0


def test_web_worker_and_beat_restart_by_themselves():
    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    # every service, the photo and rollup workers too: a stopped one is a backlog nobody drains
    assert {name: service.get("restart") for name, service in compose["services"].items()} == {
        "db": "unless-stopped",
        "redis": "unless-stopped",
        "web": "unless-stopped",
        "worker": "unless-stopped",
        "photo-worker": "unless-stopped",
        "rollup-worker": "unless-stopped",
        "beat": "unless-stopped",
    }
