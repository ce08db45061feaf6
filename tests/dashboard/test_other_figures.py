"""The grids figures: 1+2 staffing counted on the micro-grid or its general grid."""

import pytest

from grids.models import GridKind, PartyGroup, PartyOrganization, RosterEntry
from qionglai.dashboard import other
from qionglai.dashboard.selectors import Scope
from tests.factories import UserFactory
from tests.grids.conftest import make_grid

pytestmark = pytest.mark.django_db


def test_a_micro_grid_is_fully_staffed_by_its_own_or_its_general_grids_roster(community_a):
    general = make_grid(community_a, kind=GridKind.GENERAL, code="g01")
    staffed = make_grid(community_a, kind=GridKind.MICRO, code="m01", parent=general)
    make_grid(community_a, kind=GridKind.MICRO, code="m02", parent=general)
    other_general = make_grid(community_a, kind=GridKind.GENERAL, code="g02")
    half = make_grid(community_a, kind=GridKind.MICRO, code="m01", parent=other_general)
    for grid, post in ((general, "lead"), (general, "full_time"), (general, "instructor"), (half, "lead")):
        RosterEntry.objects.create(grid=grid, user=UserFactory(), post=post)
    RosterEntry.objects.create(grid=half, user=UserFactory(), post="full_time")  # 1+1: not 配齐
    org = PartyOrganization.objects.create(grid=general, name="第一网格党支部", path=general.path)
    PartyGroup.objects.create(grid=staffed, organization=org, name="一组", path=staffed.path)
    figures = {c.label: c.display for c in other.grids(Scope(community_a.path, "community", "", ()))}
    assert figures["1+2 配齐的微网格"] == "2 个（66.7%）"  # m01 and m02 through g01; not g02's m01
    assert figures["建有党小组的微网格"] == "1 个（33.3%）"
    assert figures["户数"] == "180 户"
