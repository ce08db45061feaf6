"""The second factor for staff and grid workers (design §12, issue #12 §1)."""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from qionglai.core.models import AuditEvent
from qionglai.users import second_factor
from tests.conftest import login_with_password_only, totp_now

pytestmark = pytest.mark.django_db

STAFF_PAGE = "/registry/"


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="手机验证器", confirmed=True)


def password_login(client, username, ip="10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": "pass-12345"}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("who", ["alice", "carol", "tina", "hank", "victor", "root"])
def test_a_staff_session_without_the_code_reaches_no_staff_page_and_no_admin(client, who, request):
    user = request.getfixturevalue(who)
    enrolled(user)
    login_with_password_only(client, user)
    page = client.get(STAFF_PAGE)
    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/otp/verify/")
    admin = client.get("/admin/")
    assert admin.status_code == 302
    assert "/accounts/otp/verify/" in admin["Location"]


def test_a_resident_needs_no_second_factor(client, rita):
    login_with_password_only(client, rita)
    assert client.get("/").status_code == 200


def test_the_right_code_opens_the_staff_pages(client, tina):
    device = enrolled(tina)
    password_login(client, "tina")
    answer = client.post(
        "/accounts/otp/verify/?next=/registry/", {"token": totp_now(device), "next": "/registry/"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/registry/"
    assert client.get("/registry/").status_code == 200


def test_a_used_code_is_refused_within_its_time_step(client, tina):
    device = enrolled(tina)
    code = totp_now(device)
    password_login(client, "tina")
    assert client.post("/accounts/otp/verify/", {"token": code}).status_code == 302
    other = type(client)()
    password_login(other, "tina", ip="10.0.0.2")
    replay = other.post("/accounts/otp/verify/", {"token": code})
    assert replay.status_code == 400
    assert second_factor.MSG_BAD_CODE in replay.content.decode()
    assert other.get(STAFF_PAGE).status_code == 302


def test_wrong_codes_are_throttled_so_even_the_right_code_waits(client, tina):
    device = enrolled(tina)
    password_login(client, "tina")
    assert (
        client.post(
            "/accounts/otp/verify/", {"token": "000000" if totp_now(device) != "000000" else "111111"}
        ).status_code
        == 400
    )
    throttled = client.post("/accounts/otp/verify/", {"token": totp_now(device)})
    assert throttled.status_code == 400
    assert second_factor.MSG_THROTTLED in throttled.content.decode()


def test_enrolment_shows_a_qr_code_and_the_secret_then_ten_single_use_recovery_codes(client, carol):
    password_login(client, "carol")  # grace 0 in production: enrolment is forced at once
    forced = client.get("/")
    assert forced.status_code == 302 and forced["Location"].startswith("/accounts/otp/enrol/")
    page = client.get("/accounts/otp/enrol/")
    html = page.content.decode()
    assert "启用动态验证码" in html and "<svg" in html
    device = TOTPDevice.objects.get(user=carol, confirmed=False)
    assert second_factor.secret_of(device) in html
    done = client.post("/accounts/otp/enrol/", {"token": totp_now(device)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert StaticToken.objects.filter(device__user=carol).count() == 10
    assert client.get(STAFF_PAGE).status_code == 200
    assert AuditEvent.objects.filter(action="otp.enrol", target_id=str(carol.pk)).exists()


def test_a_recovery_code_works_once(client, carol):
    enrolled(carol)
    static = StaticDevice.objects.create(user=carol, name="备用恢复码", confirmed=True)
    static.token_set.create(token="abcd2345")
    password_login(client, "carol")
    assert client.post("/accounts/otp/verify/", {"token": "abcd2345"}).status_code == 302
    assert client.get(STAFF_PAGE).status_code == 200
    again = type(client)()
    password_login(again, "carol", ip="10.0.0.3")
    assert again.post("/accounts/otp/verify/", {"token": "abcd2345"}).status_code == 400
    assert again.get(STAFF_PAGE).status_code == 302


def test_the_grace_setting_allows_n_logins_before_enrolment_is_forced(client, carol, settings):
    settings.OTP_GRACE_LOGINS = 2
    for _ in range(2):
        password_login(client, "carol")
        assert client.get(STAFF_PAGE).status_code == 200
        client.logout()
    password_login(client, "carol")
    assert client.get(STAFF_PAGE)["Location"].startswith("/accounts/otp/enrol/")


def test_an_unlimited_grace_keeps_the_demo_usable_without_enrolment(client, carol, settings):
    settings.OTP_GRACE_LOGINS = None
    for _ in range(3):
        password_login(client, "carol")
        assert client.get(STAFF_PAGE).status_code == 200
        client.logout()


def test_the_admin_needs_a_verified_device_even_for_a_superuser(client, root, settings):
    settings.OTP_GRACE_LOGINS = None  # even when pages are open in the grace period
    login_with_password_only(client, root)
    assert client.get("/admin/").status_code == 302
    client.force_login(root)  # password and code
    assert client.get("/admin/").status_code == 200


def test_an_admin_grant_holder_uses_the_admin_without_django_flags(client, town_a):
    from tests.factories import GrantFactory, UserFactory

    admin_by_grant = UserFactory(username="ada")
    GrantFactory(user=admin_by_grant, role="admin", path="510183")
    client.force_login(admin_by_grant)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/users/grant/").status_code == 200


def test_a_device_is_reset_by_another_admin_and_audited(client, root, carol):
    enrolled(carol)
    client.force_login(root)
    answer = client.post(
        "/admin/users/user/", {"action": "reset_second_factor", "_selected_action": [carol.pk]}
    )
    assert answer.status_code == 302
    assert not TOTPDevice.objects.filter(user=carol).exists()
    event = AuditEvent.objects.get(action="otp.reset")
    assert event.actor == root and event.target_id == str(carol.pk)


def test_an_admin_cannot_reset_their_own_device(root):
    enrolled(root)
    with pytest.raises(second_factor.PermissionDenied, match=second_factor.MSG_RESET_SELF):
        second_factor.otp_device_reset(actor=root, user=root)
    assert TOTPDevice.objects.filter(user=root).exists()


def test_a_non_admin_cannot_reset_anyones_device(carol, alice):
    enrolled(alice)
    with pytest.raises(second_factor.PermissionDenied):
        second_factor.otp_device_reset(actor=carol, user=alice)


def test_the_api_refuses_a_staff_session_that_skipped_the_code(client, carol):
    enrolled(carol)
    login_with_password_only(client, carol)
    assert client.get("/api/v1/me/").status_code == 403
    client.force_login(carol)
    assert client.get("/api/v1/me/").status_code == 200
