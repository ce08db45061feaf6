"""The city's reported figures (design §1, §8) as the city dashboard counts them over rows.
The demo is built so they equal the reported numbers exactly; tests/core/test_demo.py holds
it to that, and build_demo prints them once at the end."""

from __future__ import annotations

from django.conf import settings


def headline() -> dict[str, int]:
    from qionglai.dashboard.other import headline as dashboard_headline
    from qionglai.dashboard.selectors import Scope

    city = Scope(path=settings.CITY_PATH, level="city", name="邛崃市", trail=())
    return {figure.label: figure.value for figure in dashboard_headline(city)}
