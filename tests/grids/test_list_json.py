"""The API list's JSON is written by PostgreSQL (selectors.incident_list_json,
pagination.keyset_json): for every filter, viewer, language, time zone and page it must be
exactly the body the Python path gives (rows shaped by incident_list_rows, which
test_list_rows.py holds to IncidentSerializer), cursors and counts included."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from grids import selectors, services
from grids.models import Incident, Status, Tier, Urgency
from tests.conftest import api_as

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"


@pytest.fixture
def varied(report, carol, micro_a2, zjj_category):
    """30 rows with every kind of value a list row holds, a minute apart: no micro-grid, a
    department, an empty tier, positions, deadlines, a level above 0, supervised, overdue,
    a timestamp with no microseconds, a description needing JSON escapes."""
    plain = report(lat=Decimal("30.410120"), lng=Decimal("103.460001"), description='引号 " 和 \\ 与 \n 换行')
    elsewhere = report(micro_grid=micro_a2, urgency="red")
    dept = services.incident_accept(actor=carol, incident=report(category=zjj_category), tier=Tier.DEPARTMENT)
    dept = services.incident_dispatch(actor=carol, incident=dept)
    Incident.objects.filter(pk=elsewhere.pk).update(
        level=2, supervised=True, due_at=timezone.now() - timedelta(hours=1)
    )
    Incident.objects.filter(pk=plain.pk).update(micro_grid=None)
    template = Incident.objects.get(pk=elsewhere.pk)
    start = (timezone.now() - timedelta(days=3)).replace(microsecond=0)
    copies = []
    for i in range(27):
        copy = Incident(
            **{
                f.attname: getattr(template, f.attname)
                for f in Incident._meta.concrete_fields
                if f.attname not in ("id", "token")
            }
        )
        copy.created_at = start + timedelta(minutes=i, microseconds=0 if i % 3 else 1234)
        copy.status = [Status.CLOSED, Status.REPORTED, Status.IN_PROGRESS][i % 3]
        copy.urgency = [Urgency.BLUE, Urgency.RED, Urgency.YELLOW][i % 3]
        copies.append(copy)
    Incident.objects.bulk_create(copies)
    return [plain, elsewhere, dept]


def _both(client, url, monkeypatch):
    """The body through PostgreSQL's JSON, then through the Python rows."""
    served = []
    real = selectors.incident_list_json

    def spy(**kwargs):
        served.append(real(**kwargs))
        return served[-1]

    with monkeypatch.context() as m:
        m.setattr(selectors, "incident_list_json", spy)
        fast = client.get(url)
    assert fast.status_code != 200 or (len(served) == 1 and served[0] is not None)  # PostgreSQL wrote it
    with monkeypatch.context() as m:
        m.setattr(selectors, "incident_list_json", lambda **kwargs: None)
        slow = client.get(url)
    assert fast.status_code == slow.status_code
    assert fast["Content-Type"] == slow["Content-Type"]
    return fast.json(), slow.json()


QUERIES = [
    "",
    "?page_size=7",
    "?status=closed&status=reported&page_size=5",
    "?open=1",
    "?category=10",
    "?category=1002",
    "?urgency=red",
    "?tier=department",
    "?department=zjj",
    "?channel=online",
    "?overdue=1",
    "?supervised=1",
    "?mine=1",
    "?q=引号",
    "?created_from=2020-01-01&created_to=2099-01-01&page_size=4",
    "?place={community}",
    "?path={community}",
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("who", ["carol", "tina", "victor", "alice"])
def test_postgresql_writes_the_same_body_as_python_for_every_filter(
    request, varied, community_a, who, query, monkeypatch
):
    user = request.getfixturevalue(who)
    client = api_as(user)
    url = URL + query.format(community=community_a.path)
    fast, slow = _both(client, url, monkeypatch)
    assert fast == slow
    assert list(fast) == ["count", "count_display", "next", "previous", "results"]
    # walk two pages older and one back newer: the cursors are the same links
    for link in ("next", "next", "previous"):
        if not fast[link]:
            break
        fast, slow = _both(client, fast[link], monkeypatch)
        assert fast == slow


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/New_York"])
def test_the_labels_and_times_follow_the_language_and_time_zone(varied, carol, language, zone, monkeypatch):
    client = api_as(carol)
    with timezone.override(zone):
        fast, slow = _both(client, f"{URL}?page_size=30", monkeypatch)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
        fast, slow = _both(client, f"{URL}?page_size=30", monkeypatch)
    assert fast == slow and len(fast["results"]) == 30
    stamps = [r["created_at"] for r in fast["results"]]
    assert any("." in s for s in stamps) and any("." not in s for s in stamps)
    if zone == "UTC":
        assert all(s.endswith("Z") for s in stamps)


def test_an_empty_list_and_a_bad_cursor_are_the_same_too(carol, monkeypatch):
    client = api_as(carol)
    fast, slow = _both(client, URL, monkeypatch)
    assert fast == slow == {"count": 0, "count_display": "0", "next": None, "previous": None, "results": []}
    bad = client.get(URL + "?cursor=Zm9v")
    assert bad.status_code == 400 and "cursor" in bad.json()["fields"]
