"""The project URL conf mounts every app where its clients expect it."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_serves_open311_at_the_specs_own_path(client):
    response = client.get("/open311/v2/services.json")
    assert response.status_code == 200
    assert isinstance(response.json(), list)
    assert client.get("/open311/v2/services.xml")["Content-Type"].startswith(("application/xml", "text/xml"))


@pytest.mark.parametrize("prefix", ["/grids/", "/consultation/", "/points/", "/registry/"])
def test_it_asks_anonymous_visitors_to_log_in_on_every_app(client, prefix):
    response = client.get(prefix)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
