"""Login by username or phone, Chinese errors, throttling keyed on (account, address)."""

import pytest

from qionglai.users.models import User

pytestmark = pytest.mark.django_db


def post_login(client, username, password, ip):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_it_logs_in_by_phone_number(client, rita):
    User.objects.filter(pk=rita.pk).update(phone="13912345678")
    response = post_login(client, "13912345678", "pass-12345", "10.0.0.1")
    assert response.status_code == 302
    assert client.get("/").context["user"] == rita


def test_it_locks_the_account_from_the_attacking_address_but_not_from_the_owners(client, carol, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(client, "carol", "wrong", "10.6.6.6").status_code == 200
    assert post_login(client, "carol", "wrong", "10.6.6.6").status_code == 429  # the limit-th failure locks
    locked = post_login(client, "carol", "pass-12345", "10.6.6.6")  # even the right password, from there
    assert locked.status_code == 429
    assert "暂时锁定" in locked.content.decode()
    # the real owner, elsewhere, still gets in
    owner = post_login(client, "carol", "pass-12345", "10.1.1.1")
    assert owner.status_code == 302


def test_it_says_why_a_login_failed_in_chinese(client, carol):
    response = post_login(client, "carol", "wrong", "10.0.0.9")
    assert "账号或密码不正确" in response.content.decode()


def test_it_gives_an_api_token_for_good_credentials_only(api, rita):
    assert api.post("/api/v1/auth/token/", {"username": "rita", "password": "nope"}).status_code == 400
    response = api.post("/api/v1/auth/token/", {"username": "rita", "password": "pass-12345"})
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api.get("/api/v1/me/").json()
    assert me["username"] == "rita"
    assert me["grants"][0]["role"] == "resident"


def test_it_serves_the_openapi_schema_and_offline_swagger(client, carol):
    client.force_login(carol)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/compounds/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist" in docs.content


def test_the_openapi_schema_validates_without_a_single_warning(tmp_path):
    """Every enum has a stable component name and every view a resolvable serializer; any
    new warning (an unnamed choice set, a view drf-spectacular cannot read) fails here."""
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "StepKindEnum" in out.read_text() and "IncidentStatusEnum" in out.read_text()


def test_it_renders_chinese_403_and_404_pages(client, rita):
    client.force_login(rita)
    forbidden = client.get("/registry/")
    assert forbidden.status_code == 403
    assert "无权访问" in forbidden.content.decode()
    missing = client.get("/registry/compounds/999999/")
    assert missing.status_code in (403, 404)
