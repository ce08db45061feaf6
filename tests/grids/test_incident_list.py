"""The incident list at scale: keyset pages with older/newer cursors, a bounded count, one
filterset for the API, the page and the export, and query counts that do not grow with rows."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import EmptyResultSet
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from grids import selectors, services
from grids.filters import incident_list_url
from grids.models import Incident, Status, Tier, Urgency
from grids.pagination import MSG_CURSOR, compiled_where, keyset_page, keyset_rows, keyset_rows_where
from grids.serializers import LIST_COLUMNS
from tests.conftest import api_as

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"


@pytest.fixture
def many(report):
    """n incidents copied from one real report, a minute apart (newest last), in one INSERT."""

    def make(n: int, **fields) -> list[Incident]:
        template = report()
        start = timezone.now() - timedelta(days=10)
        rows = []
        for i in range(n):
            copy = Incident(
                **{
                    f.attname: getattr(template, f.attname)
                    for f in Incident._meta.concrete_fields
                    if f.attname not in ("id", "token")
                }
            )
            copy.created_at = start + timedelta(minutes=i)
            for name, value in fields.items():
                setattr(copy, name, value)
            rows.append(copy)
        return Incident.objects.bulk_create(rows)

    return make


def test_the_api_walks_older_and_newer_pages_without_gaps_or_repeats(many, carol):
    made = many(45)
    client = api_as(carol)
    first = client.get(URL + "?page_size=20").json()
    assert first["count"] == 46 and first["count_display"] == "46" and first["previous"] is None
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    seen = [r["id"] for page in (first, second, third) for r in page["results"]]
    newest_first = list(Incident.objects.order_by("-created_at", "-id").values_list("id", flat=True))
    assert seen == newest_first and len(made) == 45
    assert len(seen) == len(set(seen)) == 46 and third["next"] is None
    back = client.get(third["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in second["results"]]
    back = client.get(back["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]
    assert back["previous"] is None


def test_a_count_beyond_the_bound_is_shown_as_1000_plus(many, carol, client):
    many(1001)
    body = api_as(carol).get(URL).json()
    assert body["count"] is None and body["count_display"] == "1000+"
    client.force_login(carol)
    page = client.get(reverse("grids:incident-list")).content.decode()
    assert 'data-testid="incident-count">1000+<' in page


def test_two_statuses_are_counted_as_rows_not_as_one_distinct_value(many, carol):
    many(3, status=Status.CLOSED)
    many(2, status=Status.REJECTED)
    body = api_as(carol).get(URL + "?status=closed&status=rejected").json()
    assert body["count"] == 5 and len(body["results"]) == 5


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"status": ["closed", "reported"]},
        {"overdue": "1"},
        {"category": "02"},
        {"q": "垃圾"},
        {"department": "x"},
    ],
)
@pytest.mark.parametrize("deferred", [False, True])
def test_the_api_reads_the_same_pages_as_the_orm_keyset(many, carol, query, deferred):
    """keyset_rows (hand-built SQL around the ORM's WHERE, ids first or not) against
    keyset_page (the ORM's own query): same rows, cursors and counts, walking older."""
    from django.http import QueryDict

    many(25, status=Status.CLOSED)
    many(20, status=Status.REPORTED, urgency=Urgency.RED, due_at=timezone.now() - timedelta(hours=1))
    if "category" in query:  # the parent of the reports' own category
        query = {"category": Incident.objects.select_related("category__parent").first().category.parent.code}
    data = QueryDict(mutable=True)
    for key, value in query.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    qs = selectors.incident_filter(user=carol, data=data).qs
    cursor, seen = None, 0
    for _ in range(3):
        orm = keyset_page(qs.values(*LIST_COLUMNS), cursor=cursor, size=10)
        lean = keyset_rows(qs, columns=LIST_COLUMNS, cursor=cursor, size=10, deferred=deferred)
        assert (lean.rows, lean.older, lean.newer, lean.count) == (orm.rows, orm.older, orm.newer, orm.count)
        # the API's rows as fetched (tuples): the same rows, cursors and count
        try:
            where = compiled_where(qs)
        except EmptyResultSet:  # nothing to read: keyset_rows answered without a statement
            where = None
        if where is not None:
            raw = keyset_rows_where(
                Incident, where, columns=LIST_COLUMNS, cursor=cursor, size=10, deferred=deferred, tuples=True
            )
            assert [dict(zip(LIST_COLUMNS, r, strict=True)) for r in raw.rows] == orm.rows
            assert (raw.older, raw.newer, raw.count) == (orm.older, orm.newer, orm.count)
        seen += len(lean.rows)
        cursor = lean.older or lean.newer
        if cursor is None:
            break
    assert seen > 0 or query == {"department": "x"}


@pytest.mark.parametrize("whole_table", [False, True])
def test_an_empty_page_past_the_last_row_still_carries_the_count(many, carol, whole_table):
    """The count rides in the page's statement; a page with no row asks for it on its own."""
    from grids.pagination import OLDER, encode

    many(5)
    qs = selectors.incident_filter(user=carol, data={}).qs
    oldest = qs.order_by("created_at", "id").values("created_at", "id")[0]
    beyond = encode(OLDER, oldest)
    orm = keyset_page(qs.values(*LIST_COLUMNS), cursor=beyond, size=10, whole_table=whole_table)
    lean = keyset_rows(qs, columns=LIST_COLUMNS, cursor=beyond, size=10, whole_table=whole_table)
    assert lean.rows == orm.rows == []
    assert (lean.count, lean.count_display) == (orm.count, orm.count_display)
    assert whole_table or lean.count == qs.count() > 0


def test_only_a_community_or_smaller_scope_reads_its_page_ids_first(carol, tina, victor, alice):
    # carol: community staff, alice: a grid worker; tina: a town, victor: the city
    assert selectors.narrow_scope(carol) and selectors.narrow_scope(alice)
    assert not selectors.narrow_scope(tina) and not selectors.narrow_scope(victor)


def test_an_overdue_page_below_the_city_reads_its_ids_first_from_the_open_path_index(many, tina, victor):
    """overdue=1 for a town reads the page's ids from incident_open_path (which INCLUDEs
    created_at, id), then the rows by primary key; the city's walks its open rows in order.
    Either way the page is the same."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    many(5, status=Status.IN_PROGRESS, due_at=timezone.now() - timedelta(hours=1))
    many(3, status=Status.IN_PROGRESS, due_at=timezone.now() + timedelta(hours=1))
    pages = {}
    for user in (tina, victor):
        with CaptureQueriesContext(connection) as ctx:
            response = api_as(user).get(URL + "?overdue=1")
        assert response.status_code == 200
        page = next(
            q["sql"]
            for q in ctx.captured_queries
            if 'FROM "grids_incident"' in q["sql"] and "ORDER BY" in q["sql"]
        )
        pages[user.username] = ("= ANY(ARRAY(SELECT" in page, [r["id"] for r in response.json()["results"]])
    assert pages["tina"][0] and not pages["victor"][0]
    assert pages["tina"][1] == pages["victor"][1] and len(pages["tina"][1]) == 5


def test_a_forged_cursor_is_a_400_not_a_500(carol, report):
    report()
    response = api_as(carol).get(URL + "?cursor=not-a-cursor")
    assert response.status_code == 400 and response.json()["fields"]["cursor"] == [MSG_CURSOR]


def test_the_page_pages_by_cursor_and_keeps_its_filters(many, carol, client):
    many(30, urgency=Urgency.RED)
    many(5, urgency=Urgency.BLUE)
    client.force_login(carol)
    page = client.get(reverse("grids:incident-list"), {"urgency": "red"})
    body = page.content.decode()
    assert page.status_code == 200 and 'data-testid="incident-count">30<' in body
    older = page.context["page"].older
    assert older and f"urgency=red&amp;cursor={older}" in body
    rest = client.get(reverse("grids:incident-list"), {"urgency": "red", "cursor": older})
    ids = {i.pk for i in page.context["page"].rows} | {i.pk for i in rest.context["page"].rows}
    assert len(ids) == 30 and all(i.urgency == "red" for i in rest.context["page"].rows)
    assert rest.context["page"].older is None and rest.context["page"].newer


def test_the_api_and_the_page_apply_the_same_filters(report, carol, client, micro_a2, zjj_category):
    red = report(urgency="red")
    elsewhere = report(micro_grid=micro_a2)
    dept = services.incident_accept(actor=carol, incident=report(category=zjj_category), tier=Tier.DEPARTMENT)
    dept = services.incident_dispatch(actor=carol, incident=dept)
    cases = {
        "urgency=red": {red.pk},
        f"place={micro_a2.path}": {elsewhere.pk},
        "department=zjj": {dept.pk},
        "tier=department&status=in_progress": {dept.pk},
        f"q={red.pk}": {red.pk},
        f"path={micro_a2.path}": {elsewhere.pk},  # the older spelling the dashboard links use
    }
    client.force_login(carol)
    for query, expected in cases.items():
        api = {r["id"] for r in api_as(carol).get(f"{URL}?{query}").json()["results"]}
        page = {i.pk for i in client.get(f"{reverse('grids:incident-list')}?{query}").context["page"].rows}
        assert api == page == expected, query


def test_a_bad_filter_is_a_400_on_the_api_and_a_message_beside_the_field(carol, client, report):
    report()
    response = api_as(carol).get(URL + "?urgency=purple&created_from=2026-02-30")
    assert response.status_code == 400 and {"urgency", "created_from"} <= set(response.json()["fields"])
    client.force_login(carol)
    page = client.get(
        reverse("grids:incident-list"), {"created_from": "2026-05-02", "created_to": "2026-05-01"}
    )
    assert page.status_code == 200 and "结束日期不能早于开始日期" in page.content.decode()


def test_a_second_request_of_the_same_shape_reuses_the_compiled_where_and_reads_the_same(
    many, carol, monkeypatch
):
    many(12, status=Status.CLOSED)
    query = URL + "?status=closed&page_size=5"
    first = api_as(carol).get(query)
    assert selectors.list_shape(selectors.list_shape_key(user=carol, params=first.wsgi_request.GET))
    built = []
    real = selectors.visible_for
    monkeypatch.setattr(selectors, "visible_for", lambda **kw: built.append(kw) or real(**kw))
    second = api_as(type(carol).objects.get(pk=carol.pk)).get(query)
    assert built == []  # neither the visibility nor the filterset built again
    assert second.content == first.content
    cursor = first.json()["next"].split("cursor=")[1]
    third = api_as(carol).get(query + "&cursor=" + cursor)
    assert [r["id"] for r in third.json()["results"]] != [r["id"] for r in first.json()["results"]]


def test_the_compiled_where_follows_the_grants_and_never_keeps_a_refused_filter(
    carol, tina, report, community_b
):
    from qionglai.users.models import Role
    from tests.factories import GrantFactory

    report()
    assert api_as(carol).get(URL).json()["count"] == 1
    outside = Incident.objects.first()
    Incident.objects.filter(pk=outside.pk).update(path=community_b.path + ".g9", community=community_b)
    assert api_as(type(carol).objects.get(pk=carol.pk)).get(URL).json()["count"] == 0
    GrantFactory(user=carol, role=Role.COMMUNITY_STAFF, path=community_b.path)  # a new grant: a new key
    assert api_as(type(carol).objects.get(pk=carol.pk)).get(URL).json()["count"] == 1
    for _ in range(2):  # refused every time, never kept
        response = api_as(carol).get(URL + "?urgency=purple")
        assert response.status_code == 400 and "urgency" in response.json()["fields"]
    # filters whose SQL holds the clock are never kept
    response = api_as(tina).get(URL + "?overdue=1")
    assert response.status_code == 200
    assert selectors.list_shape_key(user=tina, params=response.wsgi_request.GET) is None


def test_the_dashboard_links_use_the_filter_names(community_a):
    url = incident_list_url(place=community_a.path, overdue=1, status=[Status.REPORTED])
    assert url == f"/grids/incidents/?place={community_a.path}&overdue=1&status=reported"
    with pytest.raises(ValueError, match="unknown incident filters"):
        incident_list_url(page=2)


def test_the_workbench_tiles_link_to_the_filtered_list(client, carol, report):
    report()
    client.force_login(carol)
    page = client.get(reverse("grids:home"))
    assert page.context["counts"] == {"reported": 1, "open": 1, "overdue": 0, "supervised": 0}
    assert page.context["task_count"] == 1
    assert 'href="/grids/incidents/?overdue=1"' in page.content.decode()


def test_the_list_page_costs_the_same_queries_for_one_row_and_for_twenty(
    client, report, carol, many, django_assert_num_queries
):
    report()
    client.force_login(carol)
    selectors.forget_list_names()
    # a process's first page (or after NAMES_TTL or a rename) loads the five name maps the
    # rows and the filter pickers read (categories, communities, grids, departments, towns)
    with django_assert_num_queries(7 + 5):
        assert client.get(reverse("grids:incident-list")).status_code == 200
    # then: session, user, the second-factor device check, grants, the page rows (no joins),
    # the bounded count, the nav's unread count; the pickers and the rows' names are cached
    with django_assert_num_queries(7):
        page = client.get(reverse("grids:incident-list"))
    assert len(page.context["page"].rows) == 1
    many(30)
    with django_assert_num_queries(7):
        page = client.get(reverse("grids:incident-list"))
    rows = page.context["page"].rows
    assert len(rows) == 20 and all(r.category.name and r.community.name for r in rows)
    body = page.content.decode()
    assert rows[0].category.name in body and (rows[0].micro_grid.name in body)


def test_the_list_page_names_what_a_row_shows_from_the_cached_maps(client, report, carol, zjj_category):
    """The rows read without joins still show the category, place and department names, and
    the pickers list the user's towns, communities and the categories."""
    dept = services.incident_accept(actor=carol, incident=report(category=zjj_category), tier=Tier.DEPARTMENT)
    dept = services.incident_dispatch(actor=carol, incident=dept)
    client.force_login(carol)
    page = client.get(reverse("grids:incident-list"))
    body = page.content.decode()
    joined = Incident.objects.select_related("category", "assigned_department", "micro_grid").get(pk=dept.pk)
    assert joined.assigned_department is not None
    assert f"{joined.get_tier_display()} · {joined.assigned_department.name}" in body
    assert joined.category.name in body and joined.micro_grid.name in body
    form = page.context["filter"].form
    places = dict(form.fields["place"].widget.choices)
    assert carol.grants.first().path in places  # her community
    categories = dict(form.fields["category"].widget.choices)
    assert zjj_category.code in categories


def test_the_api_list_costs_the_same_queries_for_one_row_and_for_fifty(
    report, carol, many, django_assert_num_queries
):
    report()
    selectors.forget_list_names()
    # the first request of a process (or after NAMES_TTL, or after a grid, community,
    # category, department or town changed) loads the name maps the rows are named from (and
    # the page's pickers: five queries)
    client = api_as(type(carol).objects.get(pk=carol.pk))
    with django_assert_num_queries(2 + 5):
        assert client.get(URL + "?page_size=50").status_code == 200
    # then: grants, and the page rows (no joins) with their bounded count in the same
    # statement (pagination.keyset_rows_where; force_authenticate: no token)
    client = api_as(type(carol).objects.get(pk=carol.pk))
    with django_assert_num_queries(2):
        assert client.get(URL + "?page_size=50").status_code == 200
    many(60)
    client = api_as(type(carol).objects.get(pk=carol.pk))  # grants are cached per user object
    with django_assert_num_queries(2):
        response = client.get(URL + "?page_size=50")
    assert len(response.json()["results"]) == 50


def test_the_export_holds_what_is_filtered_and_no_personal_data(client, carol, report, rita, alice):
    report(actor=rita, urgency="red", description='=HYPERLINK("http://x") 电话 13812345678')
    report(urgency="blue")
    client.force_login(carol)
    response = client.get(reverse("grids:incident-export"), {"urgency": "red"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][6] == "红色（特急）"
    description = rows[1][-1]
    assert (
        description.startswith("'=HYPERLINK")
        and "138****" in description
        and "13812345678" not in description
    )
    flat = " ".join(str(c) for r in rows for c in r if c is not None)
    assert rita.real_name not in flat and rita.username not in flat


def test_the_csv_export_streams_and_neutralises_formulas(client, carol, report):
    report(description="+1 楼道灯坏了")
    report(description="@SUM(A1) 井盖松动")
    client.force_login(carol)
    response = client.get(reverse("grids:incident-export"), {"format": "csv"})
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "编号" and len(rows) == 3
    assert {r[-1] for r in rows[1:]} == {"'+1 楼道灯坏了", "'@SUM(A1) 井盖松动"}


def test_residents_may_not_export(client, rita, report):
    report(actor=rita)
    client.force_login(rita)
    assert client.get(reverse("grids:incident-export")).status_code == 403


def test_with_the_identity_cache_the_api_list_runs_only_its_page_with_its_count(
    identity_cache, api, report, carol, many, django_assert_num_queries
):
    from qionglai.users.services import token_issue

    report()
    _, key = token_issue(user=carol)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(URL).status_code == 200  # loads the identity (token, grants, devices) and the names
    # as production serves it: token, user and grants from one cache read (qionglai/users/
    # identity.py), the rates in one Redis round trip; the list's own one statement remains,
    # the page (no joins) with its bounded count as a scalar subquery
    with django_assert_num_queries(1):
        assert len(api.get(URL + "?page_size=50").json()["results"]) == 1
    many(60)
    with django_assert_num_queries(1):
        assert len(api.get(URL + "?page_size=50").json()["results"]) == 50


def test_with_the_identity_cache_the_list_page_runs_its_rows_count_and_badge(
    identity_cache, client, report, carol, many, django_assert_num_queries
):
    report()
    client.force_login(carol)
    client.get(reverse("grids:incident-list"))
    # session, user, device and grants from the cache; the page rows, the bounded count and
    # the navigation's unread badge remain
    with django_assert_num_queries(3):
        assert len(client.get(reverse("grids:incident-list")).context["page"].rows) == 1
    many(30)
    with django_assert_num_queries(3):
        assert len(client.get(reverse("grids:incident-list")).context["page"].rows) == 20
