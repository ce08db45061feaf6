"""The identity cache (qionglai/users/identity.py): a request's user, grants, second-factor
devices and token state from one cache read, and every change seen by the next request.

Changes are made inside `django_capture_on_commit_callbacks(execute=True)`: the invalidation
runs after commit (as in production), and a test runs inside one transaction that never
commits, so the callbacks are run when the block ends, as a commit would run them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
import time_machine
from django.core.cache import cache, caches
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from qionglai.users import authentication, identity, second_factor, throttle
from qionglai.users.authentication import MSG_EXPIRED, MSG_REVOKED, MSG_UNKNOWN_KEY
from qionglai.users.models import ApiToken, Grant, Role
from qionglai.users.services import grant_give, grant_retire, token_digest, token_issue, token_revoke
from tests.conftest import login_with_password_only

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
SECURITY = "/accounts/security/"
STAFF_PAGE = "/accounts/security/"  # behind login and the second factor, owned by this app


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` — what happens inside is committed (its on_commit work runs)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def token_client(api, user):
    _, key = token_issue(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return key


def me(api):
    return api.get(ME)


# --- the cache is used -----------------------------------------------------------------------


def test_a_token_request_reads_no_table_once_its_identity_is_cached(
    identity_cache, api, rita, django_assert_num_queries
):
    token_client(api, rita)
    # the first request loads the identity: token with its user (1), grants (1), the TOTP and
    # static devices (2)
    with django_assert_num_queries(4):
        assert me(api).status_code == 200
    # the second reads it from one cache entry: no query at all (the view's grants included)
    with django_assert_num_queries(0):
        answer = me(api)
    assert answer.json()["username"] == "rita"
    assert [g["role"] for g in answer.json()["grants"]] == [Role.RESIDENT]


def test_a_newly_issued_token_is_cached_from_its_first_request(
    identity_cache, api, rita, committed, django_assert_num_queries
):
    with committed():  # issuing invalidates nothing: no entry can exist for a new digest
        token_client(api, rita)
    me(api)
    with django_assert_num_queries(0):
        assert me(api).status_code == 200


def test_without_the_cache_the_same_request_reads_the_token_and_the_grants(
    api, rita, django_assert_num_queries
):
    token_client(api, rita)
    me(api)
    # the suite's default (cache off): token with its user, grants
    with django_assert_num_queries(2):
        assert me(api).status_code == 200


def test_a_session_page_reads_only_its_own_rows_once_the_identity_is_cached(
    identity_cache, client, carol, django_assert_num_queries
):
    client.force_login(carol)  # with the second factor verified (conftest)
    client.get(SECURITY)
    # session, user, grants and the verified device all from the cache; the page's own two:
    # the unread-notification badge (navigation) and the account's tokens
    with django_assert_num_queries(2):
        page = client.get(SECURITY)
    assert page.status_code == 200
    assert page.context["enrolled"] is True


def test_without_the_cache_the_session_page_reads_session_user_device_and_grants(
    client, carol, django_assert_num_queries
):
    client.force_login(carol)
    client.get(SECURITY)
    # session, user, the session's device, grants, the TOTP devices (「已启用」: found there, so
    # the static ones are not asked), then the page's own two: the notification badge, tokens
    with django_assert_num_queries(7):
        assert client.get(SECURITY).status_code == 200


def counting_commands(monkeypatch) -> list:
    commands = []
    real = redis.Redis.execute_command

    def counting(self, *args, **options):
        commands.append(args[0])
        return real(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    return commands


def window_size(user, since: float = 0) -> int:
    """How many requests the user's rate window holds (counted at `since` or later)."""
    backend = caches["default"]
    client = backend._cache.get_client(write=True)
    return client.zcount(backend.make_and_validate_key(f"rate:throttle_user_{user.pk}"), since, "+inf")


def test_a_tokens_first_request_in_a_process_makes_two_redis_round_trips(
    identity_cache, api, rita, monkeypatch
):
    key = token_client(api, rita)
    me(api)
    authentication._accepted.pop(token_digest(key))  # as in a process that has not seen it
    commands = counting_commands(monkeypatch)
    assert me(api).status_code == 200
    # one GET (the token's identity), one EVALSHA (the user and anon rates in one script)
    assert commands == ["GET", "EVALSHA"]


def test_a_known_token_reads_its_identity_and_counts_its_rates_in_one_round_trip(
    identity_cache, api, rita, monkeypatch
):
    token_client(api, rita)
    me(api)
    before = window_size(rita)
    commands = counting_commands(monkeypatch)
    assert [me(api).status_code for _ in range(3)] == [200, 200, 200]
    # one script per request: the entry read and the user rate counted, once each
    assert commands == ["EVALSHA"] * 3
    assert window_size(rita) == before + 3


def test_in_one_round_trip_the_user_rate_still_answers_429_with_drfs_retry_after(
    identity_cache, api, rita, monkeypatch
):
    monkeypatch.setattr(throttle.UserRateThrottle, "rate", raising=False, value="2/min")
    token_client(api, rita)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        me(api)  # loads the identity; the rate counted after it, as before
    commands = counting_commands(monkeypatch)
    with time_machine.travel(start + timedelta(seconds=20), tick=False):
        assert me(api).status_code == 200
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        refused = me(api)
    assert commands == ["EVALSHA", "EVALSHA"]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"


def test_after_a_change_the_rate_is_counted_once_beside_the_database_read(
    identity_cache, api, rita, root, committed, monkeypatch
):
    token_client(api, rita)
    me(api)
    with committed():
        grant_give(actor=root, user=rita, role=Role.PARTY_MEMBER, path=Grant.objects.get(user=rita).path)
    before = window_size(rita)
    commands = counting_commands(monkeypatch)
    assert me(api).status_code == 200
    # the script finds the tombstone and counts nothing; the identity comes from the database
    # (not cached over the tombstone) and the rates run on their own, as before
    assert commands == ["EVALSHA", "EVALSHA"]
    assert window_size(rita) == before + 1


def test_an_expired_token_is_refused_without_using_up_its_users_rate(identity_cache, api, rita):
    key = token_client(api, rita)
    me(api)
    expired = ApiToken.objects.get(digest=token_digest(key)).expires_at
    with time_machine.travel(expired + timedelta(seconds=1)):
        answer = me(api)
    assert answer.status_code == 401
    assert answer.json()["message"] == MSG_EXPIRED
    assert window_size(rita, since=expired.timestamp()) == 0


# --- tokens ----------------------------------------------------------------------------------


def test_a_revoked_token_is_refused_on_the_next_request(identity_cache, api, rita, committed):
    token_client(api, rita)
    assert me(api).status_code == 200
    with committed():
        token_revoke(user=rita, token_id=ApiToken.objects.get().pk)
    answer = me(api)
    assert answer.status_code == 401
    assert answer.json()["message"] == MSG_REVOKED


def test_a_token_revoked_by_a_bare_save_is_refused_too(identity_cache, api, rita, committed):
    token_client(api, rita)
    me(api)
    token = ApiToken.objects.get()
    with committed():
        token.revoked_at = timezone.now()
        token.save()
    assert me(api).status_code == 401


def test_a_deleted_token_is_refused_on_the_next_request(identity_cache, api, rita, committed):
    token_client(api, rita)
    me(api)
    with committed():
        ApiToken.objects.all().delete()
    answer = me(api)
    assert answer.status_code == 401
    assert answer.json()["message"] == MSG_UNKNOWN_KEY


def test_a_cached_token_expires_by_the_clock_without_any_invalidation(identity_cache, api, rita, settings):
    token_client(api, rita)
    assert me(api).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=settings.API_TOKEN_DAYS, seconds=1)):
        answer = me(api)
    assert answer.status_code == 401
    assert answer.json()["message"] == MSG_EXPIRED


def test_a_deactivated_users_token_is_refused_on_the_next_request(identity_cache, api, rita, committed):
    token_client(api, rita)
    me(api)
    with committed():
        rita.is_active = False
        rita.save()
    assert me(api).status_code == 401


def test_a_retired_grant_is_gone_from_the_next_token_request(identity_cache, api, rita, root, committed):
    token_client(api, rita)
    assert len(me(api).json()["grants"]) == 1
    with committed():
        grant_retire(actor=root, grant=Grant.objects.get(user=rita))
    assert me(api).json()["grants"] == []


def test_a_given_grant_shows_in_the_next_token_request(identity_cache, api, rita, root, committed):
    token_client(api, rita)
    me(api)
    with committed():
        grant_give(actor=root, user=rita, role=Role.PARTY_MEMBER, path=Grant.objects.get(user=rita).path)
    assert [g["role"] for g in me(api).json()["grants"]] == [Role.RESIDENT, Role.PARTY_MEMBER]


def test_a_grant_changed_by_a_bare_save_shows_in_the_next_request(identity_cache, api, rita, committed):
    token_client(api, rita)
    me(api)
    grant = Grant.objects.get(user=rita)
    with committed():
        grant.path = grant.path + ".s001"
        grant.save()
    assert me(api).json()["grants"][0]["path"] == grant.path


def test_an_unknown_token_is_not_cached(identity_cache, api, rita):
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert me(api).status_code == 401
    assert cache.get(identity.TOKEN_KEY.format(token_digest("0" * 40))) is None


# --- sessions --------------------------------------------------------------------------------


def test_a_changed_password_signs_the_other_sessions_out_on_their_next_request(
    identity_cache, client, rita, committed
):
    client.force_login(rita)
    assert client.get(SECURITY).status_code == 200
    with committed():
        rita.set_password("a-new-pass-6789")
        rita.save()
    answer = client.get(SECURITY)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")


def test_a_deactivated_user_is_signed_out_on_the_next_request(identity_cache, client, rita, committed):
    client.force_login(rita)
    client.get(SECURITY)
    with committed():
        rita.is_active = False
        rita.save()
    assert client.get(SECURITY).status_code == 302


def test_a_retired_grant_is_gone_from_the_next_session_request(identity_cache, client, rita, root, committed):
    client.force_login(rita)
    assert len(client.get(ME).json()["grants"]) == 1
    with committed():
        grant_retire(actor=root, grant=Grant.objects.get(user=rita))
    assert client.get(ME).json()["grants"] == []


def test_a_device_added_to_a_grace_session_asks_for_the_code_next(
    identity_cache, client, carol, settings, committed
):
    settings.OTP_GRACE_LOGINS = 5
    login_with_password_only(client, carol)  # no device yet: within the grace logins
    assert client.get(STAFF_PAGE).status_code == 200
    with committed():
        TOTPDevice.objects.create(user=carol, name="手机验证器", confirmed=True)
    answer = client.get(STAFF_PAGE)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/otp/verify/")


def test_a_removed_device_ends_the_verified_session_next(identity_cache, client, carol, root, committed):
    client.force_login(carol)  # verified with a device (conftest)
    page = client.get(STAFF_PAGE)
    assert page.context["user"].is_verified() is True
    with committed():
        second_factor.otp_device_reset(actor=root, user=carol)
    page = client.get(STAFF_PAGE)
    # the reset restarts the grace counter: the page opens, but neither verified nor enrolled
    assert page.context["user"].is_verified() is False
    assert page.context["enrolled"] is False


def test_a_device_deleted_as_a_bare_row_ends_the_verified_session_next(
    identity_cache, client, carol, committed
):
    client.force_login(carol)
    assert client.get(STAFF_PAGE).context["user"].is_verified() is True
    with committed():
        TOTPDevice.objects.filter(user=carol).delete()
    answer = client.get(STAFF_PAGE)  # production grace 0, used by the sign-in: enrolment
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/otp/enrol/")


def test_a_used_up_grace_forces_enrolment_on_the_next_request(
    identity_cache, client, carol, settings, committed
):
    settings.OTP_GRACE_LOGINS = 1
    login_with_password_only(client, carol)  # the sign-in counts as the one grace login
    assert client.get(STAFF_PAGE).status_code == 200
    with committed():  # two more sign-ins elsewhere: an update(), no model signal
        second_factor.count_login(user=carol)
        second_factor.count_login(user=carol)
    answer = client.get(STAFF_PAGE)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/otp/enrol/")


def test_a_logout_ends_the_cached_session(identity_cache, client, rita):
    client.force_login(rita)
    assert client.get(SECURITY).status_code == 200
    cookie = client.cookies["sessionid"].value
    client.post("/accounts/logout/")
    client.cookies["sessionid"] = cookie  # the old cookie, replayed
    assert client.get(SECURITY).status_code == 302


# --- races and failures -----------------------------------------------------------------------


def test_a_stale_load_cannot_be_cached_over_a_committed_change(identity_cache, api, rita, committed):
    """The race the tombstone closes: a request read the database just before a change
    committed and writes its (old) copy to the cache just after the invalidation."""
    token_client(api, rita)
    me(api)
    stale = identity.user_identity(rita.pk)  # what the racing request read
    with committed():
        rita.is_active = False
        rita.save()
    key = identity.USER_KEY.format(rita.pk)
    identity._cache_add(key, stale)  # the racing request's late write
    assert cache.get(key) == identity.TOMBSTONE
    assert identity.user_identity(rita.pk).user.is_active is False
    assert me(api).status_code == 401


def test_the_invalidation_waits_for_the_commit(identity_cache, api, rita, django_capture_on_commit_callbacks):
    token_client(api, rita)
    me(api)
    key = identity.TOKEN_KEY.format(ApiToken.objects.get().digest)
    with django_capture_on_commit_callbacks() as callbacks:
        rita.is_active = False
        rita.save()
        # not committed yet: other processes still (rightly) see the committed state
        assert isinstance(cache.get(key), tuple)
    for callback in callbacks:
        callback()
    assert cache.get(key) == identity.TOMBSTONE


@pytest.fixture
def redis_down(settings):
    """The cache pointed at a port where nothing listens (this helper's port range)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:8109/1",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }


def test_with_the_cache_down_a_token_request_reads_the_database(
    identity_cache, api, rita, redis_down, committed, django_assert_num_queries
):
    token_client(api, rita)
    # token with user, grants, devices (2): loaded each time, not cached; the throttle lets it by
    with django_assert_num_queries(4):
        answer = me(api)
    assert answer.status_code == 200
    assert answer.json()["username"] == "rita"
    with committed():
        token_revoke(user=rita, token_id=ApiToken.objects.get().pk)
    assert me(api).status_code == 401  # never "signed in" by a cache it cannot read
    api.credentials(HTTP_AUTHORIZATION="Token " + "1" * 40)
    assert me(api).status_code == 401


def test_with_the_cache_down_a_session_works_from_the_database(identity_cache, client, carol, redis_down):
    client.force_login(carol)
    page = client.get(SECURITY)
    assert page.status_code == 200
    assert page.context["user"] == carol
    client.post("/accounts/logout/")
    assert client.get(SECURITY).status_code == 302


# --- throttles in one round trip ----------------------------------------------------------------


def test_the_user_rate_answers_429_with_retry_after_past_its_limit(api, rita, monkeypatch):
    monkeypatch.setattr(throttle.UserRateThrottle, "rate", raising=False, value="3/min")
    token_client(api, rita)
    assert [me(api).status_code for _ in range(3)] == [200, 200, 200]
    refused = me(api)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert me(api).status_code == 200


def test_the_retry_after_is_drfs_sliding_window_figure(api, rita, monkeypatch):
    monkeypatch.setattr(throttle.UserRateThrottle, "rate", raising=False, value="2/min")
    token_client(api, rita)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        me(api)
    with time_machine.travel(start + timedelta(seconds=20), tick=False):
        me(api)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        refused = me(api)
    # the oldest request in the window leaves it 60 − 30 = 30 s from now; one slot is free then
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"


def test_each_user_has_their_own_window(api, rita, carol, monkeypatch):
    monkeypatch.setattr(throttle.UserRateThrottle, "rate", raising=False, value="1/min")
    token_client(api, rita)
    assert me(api).status_code == 200
    assert me(api).status_code == 429
    other = type(api)()
    token_client(other, carol)
    assert me(other).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_once_a_deactivation_has_committed_no_thread_is_served_the_old_state(identity_cache, rita):
    """Real threads against PostgreSQL: readers hammer a token request (warming and re-warming
    the cache) while the user is deactivated; every request that starts after the commit (and
    its invalidation) returned must be refused, whichever thread and whatever it had cached."""
    import threading
    import time

    from django.db import connections, transaction
    from rest_framework.test import APIClient

    _, key = token_issue(user=rita)
    committed_at: list[float] = []
    served_late: list[int] = []
    done = [0] * 4
    stop = threading.Event()

    def reader(slot):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        try:
            while not stop.is_set():
                started = time.monotonic()
                status = client.get(ME).status_code
                if committed_at and started > committed_at[0] and status == 200:
                    served_late.append(status)
                done[slot] += 1
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while min(done) < 5 and time.monotonic() < deadline:  # every reader has cached and read
        time.sleep(0.01)
    with transaction.atomic():
        rita.is_active = False
        rita.save()
    committed_at.append(time.monotonic())  # after the on_commit invalidation ran
    after = list(done)
    while any(d < a + 5 for d, a in zip(done, after, strict=True)) and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join()
    assert min(after) >= 5, "the readers never got going"
    assert all(d >= a + 5 for d, a in zip(done, after, strict=True)), "readers stalled after the commit"
    assert served_late == []
