"""A general grid's 户数 and 办理中事件 are its micro-grids' (its own households field is 0)."""

import pytest

from grids import selectors
from grids.models import Grid, GridKind

pytestmark = pytest.mark.django_db


def test_a_general_grid_sums_its_micro_grids_households_and_open_incidents(
    report, carol, general_a, micro_a1, micro_a2
):
    Grid.objects.filter(pk=general_a.pk).update(households=0)
    Grid.objects.filter(pk=micro_a1.pk).update(households=45)
    Grid.objects.filter(pk=micro_a2.pk).update(households=80)
    report(micro_grid=micro_a1)
    report(micro_grid=micro_a2)
    rows = {
        g.pk: (g.household_total, g.open_count)
        for g in selectors.with_totals(selectors.grid_list_for(user=carol))
    }
    assert rows[general_a.pk] == (125, 2)
    assert rows[micro_a1.pk] == (45, 1)
    assert rows[micro_a2.pk] == (80, 1)


def test_the_grid_list_page_shows_the_general_grids_totals(
    client, report, carol, general_a, micro_a1, micro_a2
):
    report(micro_grid=micro_a1)
    client.force_login(carol)
    page = client.get("/grids/grids/", {"kind": GridKind.GENERAL}).content.decode()
    row = next(line for line in page.splitlines() if general_a.name in line)
    assert f'<td class="num">{micro_a1.households + micro_a2.households}</td>' in row
    assert row.rstrip().endswith('<td class="num">1</td></tr>')  # 办理中事件, the last column
