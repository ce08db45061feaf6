"""A community grant is read as `community_id = …` (incident_community_created) and the category
filter as an array of ids: the same rows as the path range and the category subquery, in one
statement with the count."""

from __future__ import annotations

import uuid

import pytest
from django.db.models import Q

from grids import selectors
from grids.filters import UnderPath
from grids.models import Incident
from qionglai.users import access
from qionglai.users.models import Role
from tests.conftest import api_as
from tests.factories import CommunityFactory, GrantFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"


def _copy(template: Incident, **fields) -> Incident:
    row = Incident.objects.get(pk=template.pk)
    row.pk, row.token, row.client_key = None, uuid.uuid4(), None
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


@pytest.fixture
def around_a(report, community_a, community_b, micro_b1, bob):
    """Incidents in community A's micro-grid and on the community itself, in community B, and
    in a community whose path shares A's as a prefix without lying below it (…a01 / …a010)."""
    inside = [report(), report(micro_grid=None, community=community_a)]
    neighbour = CommunityFactory(town=community_a.town, code=community_a.code + "0", name="邻居社区")
    outside = [
        report(actor=bob, micro_grid=micro_b1),
        _copy(inside[0], community=neighbour, micro_grid=None, path=neighbour.path),
    ]
    return inside, outside


def _ids(q: Q) -> set[int]:
    return set(Incident.objects.filter(q).values_list("pk", flat=True))


def test_it_reads_a_community_grant_by_community_id_and_selects_the_path_range(around_a, carol, community_a):
    inside, _ = around_a
    carol = type(carol).objects.get(pk=carol.pk)
    q = selectors.visible_q(carol, by_community=True)
    assert q == Q(community_id=community_a.pk)
    assert selectors.visible_q(carol) == Q(UnderPath(community_a.path))  # for filtered reads
    allowed = access.scope(Incident.objects.all(), carol, "grids.incident_view").values_list("pk", flat=True)
    assert _ids(q) == _ids(Q(UnderPath(community_a.path))) == set(allowed) == {i.pk for i in inside}


def test_every_incident_lies_under_its_communitys_path(around_a):
    # the invariant _staff_q rests on: `community_id = c` and c's path range are the same rows
    for incident in Incident.objects.select_related("community"):
        assert access.covers(incident.community.path, incident.path), incident.pk


def test_a_community_the_name_maps_do_not_know_keeps_its_path_range(
    around_a, carol, community_a, monkeypatch
):
    inside, _ = around_a
    monkeypatch.setattr(selectors, "list_names", lambda rows=(): selectors.ListNames())
    q = selectors.visible_q(type(carol).objects.get(pk=carol.pk), by_community=True)
    assert q == Q(UnderPath(community_a.path))
    assert _ids(q) == {i.pk for i in inside}


def test_grants_above_or_below_a_community_keep_their_path_ranges(around_a, tina, town_a, micro_b1):
    tina = type(tina).objects.get(pk=tina.pk)
    assert selectors.visible_q(tina, by_community=True) == Q(UnderPath(town_a.path))
    GrantFactory(user=tina, role=Role.COMMUNITY_STAFF, path=micro_b1.path)  # a grid: below a community
    tina = type(tina).objects.get(pk=tina.pk)
    assert selectors.visible_q(tina, by_community=True) == Q(UnderPath(town_a.path)) | Q(
        UnderPath(micro_b1.path)
    )


def test_the_api_lists_a_communitys_incidents_by_community_id_unless_filtered(around_a, carol):
    inside, _ = around_a
    for query, expected in (("", inside), ("?status=reported", inside), ("?status=closed", [])):
        response = api_as(type(carol).objects.get(pk=carol.pk)).get(URL + query)
        body = response.json()
        assert [r["id"] for r in body["results"]] == [i.pk for i in reversed(expected)], query
        assert body["count"] == len(expected), query
        shape = selectors.list_shape(selectors.list_shape_key(user=carol, params=response.wsgi_request.GET))
        # a filter keeps the path range: the path indexes carry the filter columns
        assert ('"community_id" =' in shape.where[0]) == (query == ""), query


def test_a_changed_community_drops_the_compiled_wheres(around_a, carol, community_a):
    first = api_as(carol).get(URL)
    key = selectors.list_shape_key(user=carol, params=first.wsgi_request.GET)
    assert selectors.list_shape(key) is not None
    community_a.save()  # a community deleted and made again at the same path gets a new id
    assert selectors.list_shape(key) is None


def test_the_category_filter_is_one_statement_with_its_count(
    identity_cache, api, report, carol, category, django_assert_num_queries
):
    from qionglai.users.services import token_issue

    mine = report()  # category 0401, a child of 04
    _, key = token_issue(user=carol)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(URL).status_code == 200  # loads the identity and the names
    # the page with its bounded count, the category's ids an array filled inside it (before:
    # the page and its count as two statements, the ORM's, for this filter alone)
    for code, expected in (("04", [mine.pk]), ("0401", [mine.pk]), ("0402", []), ("zz", [])):
        with django_assert_num_queries(1):
            body = api.get(URL, {"category": code}).json()
        assert [r["id"] for r in body["results"]] == expected, code
        assert body["count"] == len(expected), code


def test_the_list_page_reads_a_communitys_incidents_by_community_id_unless_filtered(
    client, around_a, carol, community_a
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    inside, _ = around_a
    client.force_login(carol)
    for query, expected in (("", inside), ("?status=reported", inside), ("?status=closed", [])):
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(reverse("grids:incident-list") + query)
        assert [i.pk for i in page.context["page"].rows] == [i.pk for i in reversed(expected)], query
        assert page.context["page"].count == len(expected), query
        listed = [q["sql"] for q in ctx.captured_queries if 'FROM "grids_incident"' in q["sql"]]
        assert listed, query
        by_id = [('"grids_incident"."community_id" =' in sql) for sql in listed]
        # the unfiltered page and its count by community_id; a filter keeps the path range
        assert by_id == [query == ""] * len(listed), (query, listed)
