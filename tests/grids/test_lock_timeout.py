"""A transition waiting on a row another transaction holds gives up after the lock timeout
and answers 「系统繁忙，请稍后重试」 (409, Retry-After) instead of hanging or failing with a 500."""

import threading

import pytest
from django.db import connection, transaction

from grids.models import Incident, Status
from qionglai.core import locks
from tests.conftest import api_as

pytestmark = pytest.mark.django_db(transaction=True)


def test_accepting_an_incident_someone_holds_answers_busy_with_retry_after(report, carol, monkeypatch):
    monkeypatch.setattr(locks, "LOCK_TIMEOUT", "200ms")
    incident = report()
    locked, release = threading.Event(), threading.Event()

    def hold_the_incident() -> None:
        try:
            with transaction.atomic():
                Incident.objects.select_for_update().get(pk=incident.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_incident)
    holder.start()
    try:
        assert locked.wait(10)
        response = api_as(carol).post(
            f"/api/v1/incidents/{incident.pk}/accept/", {"tier": "community"}, format="json"
        )
    finally:
        release.set()
        holder.join()
    assert response.status_code == 409
    assert response.json()["message"] == "系统繁忙，请稍后重试"
    assert response["Retry-After"] == "1"
    incident.refresh_from_db()
    assert incident.status == Status.REPORTED  # nothing half-written
