"""People read names, not paths or internal references (design: pages): qionglai.core.places
and the |place and |ref_name filters."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from qionglai.core.places import place_name, place_names

pytestmark = pytest.mark.django_db


def test_a_path_reads_as_town_community_and_grid(community_a):
    from grids.models import Grid, GridKind

    grid = Grid.objects.create(
        community=community_a,
        kind=GridKind.GENERAL,
        code="g01",
        name="第一网格",
        path=f"{community_a.path}.g01",
    )
    town = community_a.town.name
    assert place_name(grid.path) == f"{town} › 洪川社区 › 第一网格"
    assert place_name(community_a.path) == f"{town} › 洪川社区"
    assert place_name("510183") == "邛崃市"


def test_any_number_of_paths_costs_one_query_per_place_model(
    community_a, community_b, django_assert_num_queries
):
    paths = [community_a.path, community_b.path, f"{community_a.path}.g09", community_a.town.path]
    # towns, communities, compounds, grids: one query each, however many paths
    with django_assert_num_queries(4):
        names = place_names(paths * 25)
    assert names[community_b.path].endswith("南街社区") and names[f"{community_a.path}.g09"].endswith(
        "洪川社区"
    )


def test_a_cross_app_reference_reads_as_the_thing_it_names(community_a):
    html = Template("{% load refs %}{{ ref|ref_name }}|{{ gone|ref_name }}").render(
        Context({"ref": f"projects.community:{community_a.pk}", "gone": "consultation.resolution:999999"})
    )
    assert "洪川社区" in html and "projects.community" not in html
    assert "来源记录已不存在" in html and "consultation.resolution" not in html


def test_registry_pages_name_places_instead_of_paths(victor, community_a):
    from django.test import Client

    client = Client()
    client.force_login(victor)
    for url, path in (
        ("/registry/", community_a.town.path),
        (f"/registry/communities/{community_a.pk}/", community_a.path),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert f"<code>{path}</code>" not in response.content.decode(), url
