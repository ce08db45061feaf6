"""Grids for the named cast: community A (洪川) has general grid g01 with micro-grids m01 and
m02 side by side; community B has one micro-grid. Boundaries are small squares near 邛崃."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from grids.models import Category, Grid, GridBoundary, GridKind, PartyGroup, PartyOrganization, RosterEntry
from grids.services import incident_report
from qionglai.users.models import GridPost, Role
from tests.factories import GrantFactory, UserFactory


def square(lng: float, lat: float, size: float = 0.002) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
        ],
    }


def make_grid(community, *, kind, code, parent=None, name=None, households=60, boundary=None) -> Grid:
    path = f"{(parent.path if parent else community.path)}.{code}"
    grid = Grid.objects.create(
        community=community,
        parent=parent,
        kind=kind,
        code=code,
        name=name or f"{community.name}{code}",
        path=path,
        households=households,
    )
    if boundary:
        from grids import geo

        min_lng, max_lng, min_lat, max_lat = geo.bbox(boundary)
        GridBoundary.objects.create(
            grid=grid,
            version=1,
            geometry=boundary,
            min_lng=min_lng,
            max_lng=max_lng,
            min_lat=min_lat,
            max_lat=max_lat,
        )
    return grid


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The cast's passwords are hashed with PBKDF2 at ~0.4 s a user on two cores; tests do not
    # test hashing, so a fast hasher keeps the suite inside its time budget.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def ensure_reference_data():
    """Seeded rows (categories, SLA defaults, calendar, departments) come from data migrations;
    a transaction=True test flushes them, so tests that need them put them back."""
    if Category.objects.exists():
        return
    from importlib import import_module

    from django.apps import apps

    import_module("projects.migrations.0003_seed_reference_data").seed(apps, None)
    import_module("grids.migrations.0002_seed_categories_sla_calendar").seed(apps, None)


@pytest.fixture
def general_a(community_a):
    ensure_reference_data()
    return make_grid(community_a, kind=GridKind.GENERAL, code="g01", name="洪川第一网格")


@pytest.fixture
def micro_a1(general_a):
    return make_grid(
        general_a.community,
        kind=GridKind.MICRO,
        code="m01",
        parent=general_a,
        name="洪川一网格一微网格",
        boundary=square(103.460, 30.410),
    )


@pytest.fixture
def micro_a2(general_a):
    return make_grid(
        general_a.community,
        kind=GridKind.MICRO,
        code="m02",
        parent=general_a,
        name="洪川一网格二微网格",
        boundary=square(103.462, 30.410),
    )


@pytest.fixture
def micro_b1(community_b):
    general = make_grid(community_b, kind=GridKind.GENERAL, code="g01")
    return make_grid(
        community_b, kind=GridKind.MICRO, code="m01", parent=general, boundary=square(103.470, 30.420)
    )


@pytest.fixture
def party_line(general_a, micro_a1):
    secretary = UserFactory(username="sec", real_name="书记 孙")
    leader = UserFactory(username="leader", real_name="组长 李")
    org = PartyOrganization.objects.create(
        grid=general_a, name="洪川第一网格党支部", secretary=secretary, path=general_a.path
    )
    PartyGroup.objects.create(
        grid=micro_a1, organization=org, name="一微网格党小组", leader=leader, path=micro_a1.path
    )
    return secretary, leader


@pytest.fixture
def lead_a(general_a):
    """网格长 of general grid g01 (told when an incident escalates to 一般网格)."""
    user = UserFactory(username="lead", real_name="网格长 龙")
    GrantFactory(user=user, role=Role.GRID_WORKER, path=general_a.path, post=GridPost.LEAD)
    RosterEntry.objects.create(grid=general_a, user=user, post=GridPost.LEAD)
    return user


@pytest.fixture
def town_b_staff(community_b):
    user = UserFactory(username="tom", real_name="街道 汤姆")
    GrantFactory(user=user, role=Role.TOWN_STAFF, path=community_b.town.path)
    return user


@pytest.fixture
def category(db):
    ensure_reference_data()
    return Category.objects.get(code="0401")  # 环境卫生 / 垃圾乱堆乱放 → 城管


@pytest.fixture
def zjj_category(db):
    ensure_reference_data()
    return Category.objects.get(code="1002")  # 物业小区 / 公共设施维修 → 住建局


def jpeg_bytes(size=(64, 48), color=(200, 30, 30), exif=None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, color)
    if exif is not None:
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="JPEG")
    return out.getvalue()


def gps_exif(lat=30.411, lng=103.461):
    image = Image.new("RGB", (1, 1))
    exif = image.getexif()
    from PIL import ExifTags

    def dms(value):
        d = int(value)
        m = int((value - d) * 60)
        s = round(((value - d) * 60 - m) * 60 * 100)
        return ((d, 1), (m, 1), (s, 100))

    from PIL.TiffImagePlugin import IFDRational

    gps = {
        1: "N",
        2: tuple(IFDRational(a, b) for a, b in dms(lat)),
        3: "E",
        4: tuple(IFDRational(a, b) for a, b in dms(lng)),
    }
    exif[ExifTags.IFD.GPSInfo] = gps
    return exif


@pytest.fixture
def report(micro_a1, alice, category):
    """A freshly reported incident in micro-grid a1 (by alice unless told otherwise)."""

    def make(actor=None, **kwargs):
        kwargs.setdefault("category", category)
        kwargs.setdefault("urgency", "yellow")
        kwargs.setdefault("description", "路口垃圾堆放三天无人清运")
        kwargs.setdefault("micro_grid", micro_a1)
        return incident_report(actor=actor or alice, **kwargs)

    return make
