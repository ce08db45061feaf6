"""Who may open which dashboard, through the page, the data endpoint, the exports, the map and
the grid card; and what each shows (the hand-built dataset of conftest.py)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from qionglai.dashboard import exports, fill

from .conftest import NOW

pytestmark = pytest.mark.django_db

FRIDAY_QS = "period=custom&start=2031-06-06&end=2031-06-06"


def login(client, user):
    client.force_login(user)
    return client


def test_city_staff_see_the_city_and_its_figures(client, victor, dataset):
    fill.fill()
    response = login(client, victor).get(reverse("dashboard:page") + "?" + FRIDAY_QS)
    assert response.status_code == 200
    html = response.content.decode()
    assert "邛崃市" in html and "数据截至" in html
    assert "临邛街道" in html and "文君街道" in html  # the towns, to drill into
    assert "28.6%" in html  # the city's 按期办结率 worked out in test_indicators


def test_a_town_viewer_gets_their_town_and_cannot_open_the_city_or_another_town(
    client, tina, town_a, town_b, dataset
):
    fill.fill()
    login(client, tina)
    assert client.get(reverse("dashboard:page")).context["screen"].scope.path == town_a.path
    for name in ("dashboard:page", "dashboard:data", "dashboard:boundaries"):
        assert client.get(reverse(name) + "?place=510183").status_code == 403
        assert client.get(reverse(name) + f"?place={town_b.path}").status_code == 403
    url = reverse("dashboard:export", args=["figures", "csv"])
    assert client.get(url + f"?place={town_b.path}").status_code == 403
    assert client.get(url).status_code == 200


def test_a_community_worker_gets_their_community_not_the_city(client, carol, community_a, dataset):
    login(client, carol)
    assert client.get(reverse("dashboard:data")).json()["place"]["name"] == "洪川社区"
    assert client.get(reverse("dashboard:page") + "?place=510183").status_code == 403


@pytest.mark.parametrize("who", ["rita", "mike", "alice"])
def test_residents_merchants_and_grid_workers_are_refused(client, who, request, dataset):
    login(client, request.getfixturevalue(who))
    assert client.get(reverse("dashboard:page")).status_code == 403
    assert client.get(reverse("dashboard:data")).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    assert client.get(reverse("dashboard:page")).status_code == 302


def test_the_data_endpoint_answers_a_bad_period_with_400(client, victor, dataset):
    login(client, victor)
    response = client.get(reverse("dashboard:data") + "?period=custom&start=2031-06-09&end=2031-06-01")
    assert response.status_code == 400
    assert response.json()["fields"]["end"] == ["开始日期不能晚于结束日期，且跨度不超过 3 年"]
    assert client.get(reverse("dashboard:data") + "?period=decade").status_code == 400


def test_a_bad_period_on_the_page_shows_the_message_beside_the_default(client, victor, dataset):
    response = login(client, victor).get(reverse("dashboard:page") + "?period=custom&start=x")
    assert response.status_code == 200
    assert "请选择正确的时段" in response.content.decode()


def test_the_data_endpoint_gives_figures_with_their_comparisons(client, tina, town_a, dataset):
    fill.fill()
    body = login(client, tina).get(reverse("dashboard:data") + "?" + FRIDAY_QS).json()
    figs = {f["key"]: f for f in body["figures"]}
    assert figs["reported"]["value"] == 6
    assert figs["resolve_on_time_rate"]["value"] == 50.0
    assert figs["reported"]["mom"] == "—"  # nothing the Thursday before: no base to compare
    assert body["breadcrumb"] == [{"name": "临邛街道", "place": town_a.path}]
    assert [i["overdue_hours"] for i in body["overdue"]] == [68.5]  # i6: Monday 15:30 → Thursday 12:00


def test_the_page_drills_down_with_a_breadcrumb_back(client, victor, community_a, dataset):
    fill.fill()
    response = login(client, victor).get(reverse("dashboard:page") + f"?place={community_a.path}")
    crumbs = response.context["screen"].scope.trail
    assert [name for name, _ in crumbs] == ["邛崃市", "临邛街道", "洪川社区"]


def test_the_drill_links_keep_the_period_its_dates_and_the_big_screen(client, victor, town_a, dataset):
    fill.fill()
    url = reverse("dashboard:page") + f"?place={town_a.path}&{FRIDAY_QS}&screen=big"
    context = login(client, victor).get(url).context
    keep = "&period=custom&start=2031-06-06&end=2031-06-06&screen=big"
    assert context["crumbs"] == [
        ("邛崃市", "?place=510183" + keep),
        ("临邛街道", f"?place={town_a.path}" + keep),
    ]
    rows = context["ranked"] + context["below_minimum"]
    assert rows and all(link == f"?place={r.path}" + keep for r, link in rows)
    html = context["crumbs"][0][1].replace("&", "&amp;")
    assert f'href="{html}"' in client.get(url).content.decode()  # what the page links to
    # a standard period carries its key and no dates; off the big screen, no screen=
    plain = client.get(reverse("dashboard:page") + f"?place={town_a.path}&period=30d").context
    assert plain["crumbs"][0] == ("邛崃市", "?place=510183&period=30d")


def test_an_export_is_what_is_on_screen_with_formulas_neutralised(client, victor, dataset):
    fill.fill()
    login(client, victor)
    response = client.get(reverse("dashboard:export", args=["figures", "xlsx"]) + "?" + FRIDAY_QS)
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert cells["上报数"] == 9 and cells["按期办结率"] == 28.6
    assert exports.neutral("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert exports.neutral("-1.5 个百分点") == "'-1.5 个百分点"
    assert exports.neutral(-3) == -3


def test_the_incident_export_streams_csv_without_personal_data(client, victor, dataset):
    login(client, victor)
    response = client.get(reverse("dashboard:export", args=["incidents", "csv"]) + "?" + FRIDAY_QS)
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == exports.INCIDENT_HEADER
    assert len(rows) == 1 + 9
    assert "上报人" not in rows[0] and "手机" not in text and "地点描述" not in rows[0]


def test_the_grid_card_is_refused_outside_the_grant(client, tina, dave, dataset, community_b):
    from tests.grids.conftest import make_grid

    grid = make_grid(community_b, kind="micro", code="m09")
    assert login(client, tina).get(reverse("dashboard:grid-card", args=[grid.pk])).status_code == 403
    body = login(client, dave).get(reverse("dashboard:grid-card", args=[grid.pk])).json()
    assert body["name"] == grid.name and body["households"] == 60


def test_the_time_of_the_data_is_the_fill_watermark(client, victor, dataset):
    fill.fill()
    response = login(client, victor).get(reverse("dashboard:page"))
    assert f"数据截至 {NOW:%H:%M:%S}" in response.content.decode()


def test_the_lists_link_to_the_incident_list_with_its_own_filters(client, tina, town_a, dataset):
    fill.fill()
    response = login(client, tina).get(reverse("dashboard:page") + "?" + FRIDAY_QS)
    links = response.context["list_links"]
    assert links["overdue"] == f"/grids/incidents/?place={town_a.path}&overdue=1"
    assert links["period"].endswith("created_from=2031-06-06&created_to=2031-06-06")
    listed = client.get(links["overdue"])
    assert listed.status_code == 200
    assert "手工构造的测试事件" in listed.content.decode()  # i6, the town's one overdue incident


def test_a_place_that_does_not_exist_is_404_on_the_page_and_400_on_the_data(client, victor, dataset):
    login(client, victor)
    assert client.get(reverse("dashboard:page") + "?place=510183.999").status_code == 404
    response = client.get(reverse("dashboard:data") + "?place=510183.999")
    assert response.status_code == 400 and response.json()["message"] == "没有这个地方"
