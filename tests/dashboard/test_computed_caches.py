"""What a computed answer no longer reads each time — the ranking rule and the ranked places'
names, kept in the cache — still shows an edit: a saved or deleted rule at once, a new place at
once; and a ranking's units get exactly the figures the page and the export show of them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from grids.models import Grid, GridKind
from qionglai.dashboard import fill, indicators, selectors
from qionglai.dashboard.models import RankingRule, UnitKind

from .conftest import FRIDAY, NOW

pytestmark = pytest.mark.django_db


def friday():
    return selectors.Period("custom", FRIDAY, FRIDAY)


def city() -> selectors.Scope:
    return selectors.Scope(path="510183", level="city", name="", trail=())


def test_a_saved_rule_replaces_the_cached_one_at_once(dataset, django_assert_num_queries):
    fill.fill()
    assert RankingRule.for_kind(UnitKind.TOWN).min_cases == 20  # the default, now cached
    with django_assert_num_queries(0):
        assert RankingRule.for_kind(UnitKind.TOWN).min_cases == 20
    rule = RankingRule.objects.create(unit_kind=UnitKind.TOWN, min_cases=5, satisfaction_rate=50)
    kept = RankingRule.for_kind(UnitKind.TOWN)
    assert (kept.min_cases, kept.satisfaction_rate, kept.pk) == (5, 50, rule.pk)
    result = selectors.ranking(city(), friday(), now=NOW)
    assert [r.name for r in result.ranked] == ["临邛街道"] and "不足 5 件" in result.basis
    rule.min_cases = 2
    rule.save()
    assert "不足 2 件" in selectors.ranking(city(), friday(), now=NOW).basis
    rule.delete()
    assert RankingRule.for_kind(UnitKind.TOWN).min_cases == 20


def test_the_ranked_places_names_come_from_the_cache_and_a_new_one_is_read(dataset, community_a):
    from tests.grids.conftest import make_grid

    g1 = make_grid(community_a, kind=GridKind.GENERAL, code="g01", name="第一网格")
    assert selectors.child_names(community_a.path, [g1.path]) == {g1.path: "第一网格"}
    Grid.objects.filter(pk=g1.pk).update(name="改名网格")  # a rename shows within NAMES_TTL
    g2 = make_grid(
        community_a, kind=GridKind.GENERAL, code="g02", name="第二网格"
    )  # a new place: read at once
    assert selectors.child_names(community_a.path, [g1.path, g2.path]) == {
        g1.path: "第一网格",
        g2.path: "第二网格",
    }
    missing = community_a.path + ".g99"  # no such place: its path shown, asked once
    assert selectors.child_names(community_a.path, [missing])[missing] is None


def test_a_ranked_unit_has_the_shown_figures_equal_to_the_full_ones(dataset):
    fill.fill()
    result = selectors.ranking(city(), friday(), now=NOW)
    rows = [*result.ranked, *result.below_minimum]
    assert rows
    late = selectors.overdue_unresolved_by_child(city(), friday(), NOW)
    children = selectors.cells_by(city(), friday(), "child")
    for row in rows:
        full = indicators.ranked_figures(children[row.path], late=late.get(row.path, (0, 0)))
        assert set(row.figures) == indicators.RANKED
        assert {k: f.value for k, f in row.figures.items()} == {k: full[k].value for k in indicators.RANKED}
        assert row.score == indicators.composite(full, RankingRule.for_kind(UnitKind.TOWN).weights)


def test_a_second_period_of_a_community_reads_neither_rule_nor_names(
    client, victor, dataset, django_assert_num_queries
):
    fill.fill()
    client.force_login(victor)
    a = dataset["i1"].community
    url = reverse("dashboard:data") + f"?place={a.path}&period=custom&start=2031-06-06&end="
    client.get(url + "2031-06-06")  # 13 (test_community_and_warm_up): caches names and rule
    # another period of the same community, computed: session, user, device, grants (4); its
    # categories and grids (1), totals (1), the present (1), the days' rows (1) = 8 — the
    # names along the path, the ranking rule, the grids' names, the category names cached
    with django_assert_num_queries(8):
        body = client.get(url + "2031-06-07").json()
    assert body["place"]["level"] == "community" and body["period"]["end"] == "2031-06-07"
