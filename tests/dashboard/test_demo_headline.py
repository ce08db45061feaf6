"""On a fresh demo the headline row equals the city's reported figures (design §1, §8): the
dashboard only counts rows, so this holds exactly when the demo holds the rows."""

import io

import pytest
from django.core.management import call_command

from qionglai.dashboard import fill, other, selectors

CITY_FIGURES = {
    "微网格": 3830,
    "网格党组织": 453,
    "微网格党小组": 2645,
    "家庭医生团队": 113,
    "团队成员": 874,
    "签约商户": 105,
    "爱心超市": 31,
    "办结事件": 4856,
    "累计积分": 81434,
    "积分兑换": 213,
}


# Not transactional, for the same reason as tests/core/test_demo.py: a flush would remove the
# reference data the data migrations seed.
@pytest.mark.django_db
def test_on_a_fresh_demo_the_headline_row_is_the_citys_figures_and_the_rollups_check(victor):
    call_command("build_demo", "--no-progress", stdout=io.StringIO())
    scope = selectors.scope_for(user=victor, path=None)
    headline = {c.label: c.value for c in other.headline(scope)}
    assert {k: headline[k] for k in CITY_FIGURES} == CITY_FIGURES
    assert headline["党员"] >= 14000  # 「14,000+ 党员」
    fill.rebuild()
    assert fill.check() == []
