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
