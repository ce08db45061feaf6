"""The named cast every test draws on (conventions: a small named cast).

Places: town A (临邛) holds community A (洪川) with compound A1; town B holds community B.
People:
  alice  — grid worker in community A         bob    — grid worker in community B (the outsider)
  carol  — community staff in community A     dave   — community staff in community B
  tina   — town staff of town A               rita   — resident of community A
  mike   — merchant counter (unit "m1") in A  victor — city staff (reads the whole city)
  hank   — department handler (住建局)          root   — admin
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from qionglai.users.models import Role

from .factories import CommunityFactory, CompoundFactory, GrantFactory, TownFactory, UserFactory

PASSWORD = "pass-12345"


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2 at full strength costs a large part of a second per cast member; tests check who
    # may log in, not the hash's work factor.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    from grids import sla

    cache.clear()
    # the holiday calendar's coverage is cached per process: forgotten before each test, so a
    # test's first working-day deadline reads it whatever ran before, and pinned query counts
    # do not depend on the order the tests run in
    sla.forget_coverage()
    yield


@pytest.fixture(autouse=True)
def _identity_cache_off(settings):
    # The suite runs with the identity cache off (qionglai/users/identity.py): each app's pinned
    # query counts describe the queries the app itself runs, including the session, user,
    # device and grants lookups of an uncached request. Tests of the cache, and pinned counts
    # of a hot endpoint as production serves it, ask for the `identity_cache` fixture.
    settings.IDENTITY_CACHE = False


@pytest.fixture
def identity_cache(settings, _identity_cache_off):
    """The identity cache on, as in production: a request's session, user, grants, OTP devices
    and token come from the cache (Redis; cleared before each test), the first request of a
    user loading them. Use: `def test_x(identity_cache, client, ...)`."""
    settings.IDENTITY_CACHE = True


_password_only_login = Client.force_login


def verify_second_factor(client, user):
    """Marks the client's session as having passed the second factor with a confirmed TOTP
    device of `user` (made if missing), as the code prompt does after a right code."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="测试验证器", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def totp_now(device) -> str:
    """The code the person's authenticator app shows now (the next step's if this step's code
    was already used: django-otp refuses a code twice and accepts one step of drift)."""
    import time

    from django_otp.oath import TOTP

    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if totp.t() <= device.last_t:
        totp.time += device.step
    return f"{totp.token():0{device.digits}d}"


def login_with_password_only(client, user):
    """Signs in without the second factor (the state between the password and the code)."""
    _password_only_login(client, user)


@pytest.fixture(autouse=True)
def _force_login_passes_the_second_factor(monkeypatch):
    """`client.force_login(staff)` in a test means "signed in the way staff sign in": with the
    password and the TOTP code. Tests of the code step itself use login_with_password_only."""
    from qionglai.users import access
    from qionglai.users.second_factor import required_for

    def force_login(self, user, backend=None):
        _password_only_login(self, user, backend)
        if required_for(user):
            verify_second_factor(self, user)
        access.forget_grants(user)

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def town_a(db):
    return TownFactory(code="001", name="临邛街道")


@pytest.fixture
def town_b(db):
    return TownFactory(code="002", name="文君街道")


@pytest.fixture
def community_a(town_a):
    return CommunityFactory(town=town_a, code="a01", name="洪川社区")


@pytest.fixture
def community_b(town_b):
    return CommunityFactory(town=town_b, code="b01", name="南街社区")


@pytest.fixture
def compound_a(community_a):
    return CompoundFactory(community=community_a, code="s001", name="洪川一号院")


@pytest.fixture
def compound_b(community_b):
    return CompoundFactory(community=community_b, code="s001", name="南街一号院")


def _person(username: str, real_name: str, role: str, path: str, **grant):
    user = UserFactory(username=username, real_name=real_name)
    GrantFactory(user=user, role=role, path=path, **grant)
    return user


@pytest.fixture
def alice(community_a):
    return _person("alice", "网格员 艾丽", Role.GRID_WORKER, community_a.path, post="full_time")


@pytest.fixture
def bob(community_b):
    return _person("bob", "网格员 鲍勃", Role.GRID_WORKER, community_b.path, post="full_time")


@pytest.fixture
def carol(community_a):
    return _person("carol", "社区工作者 卡萝", Role.COMMUNITY_STAFF, community_a.path)


@pytest.fixture
def dave(community_b):
    return _person("dave", "社区工作者 戴夫", Role.COMMUNITY_STAFF, community_b.path)


@pytest.fixture
def tina(town_a):
    return _person("tina", "街道干部 蒂娜", Role.TOWN_STAFF, town_a.path)


@pytest.fixture
def rita(community_a):
    return _person("rita", "居民 丽塔", Role.RESIDENT, community_a.path)


@pytest.fixture
def mike(community_a):
    return _person("mike", "商户 迈克", Role.MERCHANT, community_a.path, unit="m1")


@pytest.fixture
def victor(db):
    return _person("victor", "市级 维克多", Role.CITY_STAFF, settings.CITY_PATH)


@pytest.fixture
def hank(db):
    return _person("hank", "住建局 汉克", Role.DEPARTMENT_HANDLER, settings.CITY_PATH, unit="zjj")


@pytest.fixture
def root(db):
    user = UserFactory(username="root", real_name="管理员", is_staff=True, is_superuser=True)
    return user


@pytest.fixture
def api():
    """An API client; `api.force_authenticate(user)` to act as someone."""
    return APIClient()


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Two orderings on top of pytest-django's (plain database tests, then transactional ones).

    1. Tests marked `first` (the suite's longest: a full demo build on PostgreSQL, ~13 min) run
       before everything else. With `pytest -n 2` each process takes tests from the front of
       one shared list; a long test at the end would leave one process alone for its whole
       length, at the front it runs while the other process works through the rest.
       `pytest_runtest_teardown` below puts back, after its flush, the database the migrations
       left, so the plain tests that follow it in the same process find their reference data.
    2. Tests with serialized_rollback run first among the transactional ones. Their set-up
       reloads the database as the migrations left it, primary keys included; after any other
       transactional test's flush, post_migrate has re-created content types and permissions
       under new keys, and the reload would collide with them (duplicate django_content_type
       rows)."""

    def serialized(item):
        marker = item.get_closest_marker("django_db")
        return bool(marker and marker.kwargs.get("serialized_rollback"))

    def transactional(item):
        marker = item.get_closest_marker("django_db")
        fixtures = getattr(item, "fixturenames", [])
        return bool(marker and marker.kwargs.get("transaction")) or bool(
            {"transactional_db", "live_server"} & set(fixtures)
        )

    first = next((i for i, item in enumerate(items) if transactional(item)), None)
    if first is not None:
        moved = [item for item in items[first:] if serialized(item)]
        rest = [item for item in items[first:] if not serialized(item)]
        items[first:] = moved + rest

    for item in items:
        if item.get_closest_marker("first") and not serialized(item):
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.first needs serialized_rollback=True (the database "
                "is put back from the serialized copy after it)"
            )
    longest = [item for item in items if item.get_closest_marker("first")]
    items[:] = longest + [item for item in items if not item.get_closest_marker("first")]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a `first` test's flush (which, with serialized_rollback, leaves the tables empty:
    Django inhibits post_migrate then), reload the database as the migrations left it — what
    the set-up of the next serialized_rollback test would do — so the plain database tests
    after it see the categories, rules and templates the data migrations seed."""
    yield
    if not item.get_closest_marker("first"):
        return
    from django.db import connections
    from pytest_django.plugin import blocking_manager_key

    with item.config.stash[blocking_manager_key].unblock():
        for connection in connections.all(initialized_only=True):
            contents = getattr(connection, "_test_serialized_contents", None)
            if contents:
                connection.creation.deserialize_db_from_string(contents)
