"""The one access module: containment by path prefix, scoping of querysets."""

import pytest
from django.core.exceptions import PermissionDenied

from projects.models import Community, Compound
from qionglai.users import access
from qionglai.users.models import Grant, Role

pytestmark = pytest.mark.django_db


def test_it_covers_the_place_itself_and_everything_below_it():
    assert access.covers("510183.001", "510183.001")
    assert access.covers("510183.001", "510183.001.a01.s001")
    assert not access.covers("510183.001", "510183.0011")  # a sibling whose code shares the prefix
    assert not access.covers("510183.001.a01", "510183.001")


def test_it_lets_a_town_grant_reach_its_communities_and_compounds_not_a_neighbours(
    tina, community_a, compound_a, community_b, compound_b
):
    assert access.can(tina, "projects.edit", community_a.path)
    assert access.can(tina, "projects.edit", compound_a.path)
    assert not access.can(tina, "projects.edit", community_b.path)
    assert not access.can(tina, "projects.edit", compound_b.path)
    assert list(access.scope(Compound.objects.all(), tina, "projects.view")) == [compound_a]


def test_it_scopes_a_list_with_one_prefix_query(tina, community_a, community_b, django_assert_num_queries):
    access.active_grants(tina)  # loaded once per request
    with django_assert_num_queries(1):
        assert list(access.scope(Community.objects.all(), tina, "projects.view")) == [community_a]


def test_it_lets_a_grid_worker_read_the_places_above_its_grant_but_not_edit_them(
    alice, community_a, town_a, community_b
):
    assert access.can(alice, "projects.view", town_a.path)  # ancestors are readable
    assert not access.can(alice, "projects.edit", community_a.path)
    assert not access.can(alice, "projects.view", community_b.path)


def test_it_gives_the_city_viewer_every_place(victor, community_a, community_b):
    assert set(access.scope(Community.objects.all(), victor, "projects.view")) == {community_a, community_b}


def test_it_denies_residents_the_registry(rita, community_a):
    assert not access.can(rita, "projects.view", community_a.path)
    assert access.scope(Community.objects.all(), rita, "projects.view").count() == 0
    with pytest.raises(PermissionDenied):
        access.require(rita, "projects.edit", community_a.path)


def test_it_ignores_retired_grants(carol, community_a):
    from django.utils import timezone

    Grant.objects.filter(user=carol).update(retired_at=timezone.now())
    access.forget_grants(carol)
    assert not access.can(carol, "projects.edit", community_a.path)


def test_it_refuses_an_undeclared_action(carol, community_a):
    with pytest.raises(LookupError):
        access.can(carol, "projects.no_such_action", community_a.path)


def test_it_treats_admins_as_allowed_everywhere(root, community_b):
    assert access.can(root, "projects.edit", community_b.path)


def test_it_treats_an_admin_grant_like_a_superuser(carol, community_b):
    Grant.objects.create(user=carol, role=Role.ADMIN, path="510183")
    access.forget_grants(carol)
    assert access.can(carol, "projects.edit", community_b.path)
