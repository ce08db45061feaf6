import pytest
from django.core.cache import cache

from qionglai.core.tasks import HEARTBEAT_KEY, heartbeat

pytestmark = pytest.mark.django_db


def test_it_reports_database_and_redis_and_a_missing_worker_as_down(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.delete(HEARTBEAT_KEY)
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["database"]["status"] == "ok"
    assert body["redis"]["status"] == "ok"
    assert body["tasks"]["status"] == "down"


def test_it_is_healthy_once_the_worker_has_beaten(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["tasks"]["status"] == "ok"


def test_it_reports_redis_down_with_503(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"]["status"] == "down"


def test_it_answers_200_in_the_embedded_default_without_redis(client, settings):
    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["redis"]["status"] == "not_configured"
    assert body["tasks"]["status"] == "in_process"
