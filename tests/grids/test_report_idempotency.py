"""A report sent again with the same idempotency key (the page's outbox resending after a lost
answer) finds the incident its first send created: same id, 200, nothing written twice."""

import pytest

from grids.models import Incident, IncidentPhoto
from tests.conftest import api_as

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"


def _body(category, micro_a1, **extra):
    return {
        "category": category.code,
        "urgency": "red",
        "description": "河堤护栏松动",
        "micro_grid": micro_a1.pk,
        **extra,
    }


def test_a_replayed_report_answers_the_same_incident_with_200(alice, category, micro_a1):
    client = api_as(alice)
    first = client.post(URL, _body(category, micro_a1), format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    again = client.post(URL, _body(category, micro_a1), format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Incident.objects.count() == 1
    assert Incident.objects.get().events.count() == 1


def test_another_users_key_is_refused_not_answered_with_their_incident(
    alice, bob, category, micro_a1, micro_b1
):
    api_as(alice).post(URL, _body(category, micro_a1), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    response = api_as(bob).post(URL, _body(category, micro_b1), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 400
    assert response.json()["message"] == "提交编号已被使用，请刷新页面后重新提交"
    assert Incident.objects.count() == 1


def test_the_page_outbox_gets_json_and_a_resend_binds_no_second_set_of_photos(
    client, alice, category, micro_a1
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.grids.conftest import jpeg_bytes

    def jpeg_file():
        return SimpleUploadedFile("现场.jpg", jpeg_bytes(), content_type="image/jpeg")

    client.force_login(alice)
    data = {
        "category": category.code,
        "urgency": "red",
        "description": "路灯不亮",
        "micro_grid": micro_a1.pk,
        "channel": "online",
        "idempotency_key": "draft-7",
    }
    answers = []
    for _ in range(2):
        answers.append(
            client.post("/grids/report/", {**data, "photos": [jpeg_file(), jpeg_file()]}, HTTP_X_OUTBOX="1")
        )
    assert [a.status_code for a in answers] == [201, 200]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    incident = Incident.objects.get()
    assert incident.urgency == "red" and incident.client_key == "draft-7"
    assert IncidentPhoto.objects.filter(incident=incident).count() == 2


def test_a_refused_outbox_report_answers_400_with_the_field(client, alice, category, micro_a1):
    client.force_login(alice)
    response = client.post(
        "/grids/report/",
        {"category": category.code, "urgency": "red", "description": "", "micro_grid": micro_a1.pk},
        HTTP_X_OUTBOX="1",
    )
    assert response.status_code == 400
    assert "description" in response.json()["fields"]
    assert not Incident.objects.exists()


def test_a_position_in_someone_elses_grid_names_the_place_and_keeps_nothing(
    client, alice, category, micro_b1
):
    # alice works in community A; the position falls in community B's micro-grid
    client.force_login(alice)
    response = client.post(
        "/grids/report/",
        {
            "category": category.code,
            "urgency": "red",
            "description": "护栏松动",
            "lat": "30.421",
            "lng": "103.471",
            "channel": "online",
        },
        HTTP_X_OUTBOX="1",
    )
    assert response.status_code == 400
    message = response.json()["fields"]["micro_grid"][0]
    assert micro_b1.name in message and micro_b1.community.name in message
    assert not Incident.objects.exists()


def test_the_service_worker_is_served_under_grids_with_the_report_page(client, alice):
    client.force_login(alice)
    response = client.get("/grids/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert 'var PAGE = "/grids/report/"' in response.content.decode()
