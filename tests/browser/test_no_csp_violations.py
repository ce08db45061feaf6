"""No page breaks the Content-Security-Policy in Debian's Chromium (issue #12 §5): with style
attributes no longer allowed (`style-src-attr` without 'unsafe-inline'), the pages, their
scripts and the vendored libraries (ECharts' tooltips, Leaflet's map) raise no
securitypolicyviolation, while a person uses them."""

from __future__ import annotations

import pytest

from tests.core.conftest import world  # noqa: F401 - the fixture: one object of each kind

from .conftest import login, shot


@pytest.fixture
def ids(request) -> dict[str, int]:
    return request.getfixturevalue("world")


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# every violation the page reports, collected before any page script runs
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample || ""} @${e.sourceFile}:${e.lineNumber}`);
});
"""


def watched(new_page, **kwargs):
    page = new_page(**kwargs)
    page.add_init_script(WATCH)
    console = []
    page.on(
        "console",
        lambda m: console.append(f"{page.url}: {m.text}") if "Content Security Policy" in m.text else None,
    )
    page.violations = lambda: [*page.evaluate("() => window.__csp"), *console]
    return page


def test_the_dashboard_its_chart_tooltips_and_map_break_no_policy(new_page, ids, victor):
    from grids.models import Grid, GridBoundary
    from qionglai.dashboard import fill

    grid = Grid.objects.get(pk=ids["grid"])
    ring = [[103.46, 30.41], [103.462, 30.41], [103.462, 30.412], [103.46, 30.412], [103.46, 30.41]]
    GridBoundary.objects.create(
        grid=grid,
        version=1,
        geometry={"type": "Polygon", "coordinates": [ring]},
        min_lng=103.46,
        max_lng=103.462,
        min_lat=30.41,
        max_lat=30.412,
    )
    fill.fill()
    page = watched(new_page)
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "victor")
    page.goto("/dashboard/?period=30d")
    for chart in ("trend", "category", "splits", "open"):
        page.wait_for_selector(f"#chart-{chart}[data-rendered='1'] canvas")
        page.locator(f"#chart-{chart}").scroll_into_view_if_needed()
        box = page.locator(f"#chart-{chart}").bounding_box()
        for fx, fy in ((0.5, 0.5), (0.3, 0.6), (0.7, 0.4)):  # over the data: the tooltip shows
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.wait_for_timeout(150)
    page.wait_for_selector("#map[data-polygons]")
    trend = page.locator("#chart-trend")
    trend.scroll_into_view_if_needed()
    box = trend.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.6)
    page.wait_for_timeout(300)
    shot(page, "csp-dashboard-tooltip")  # the tooltip, drawn on the canvas (richText)
    assert page.violations() == []


def test_the_staff_pages_break_no_policy(new_page, ids, carol):
    page = watched(new_page)
    login(page, "carol")
    for url in (
        "/grids/",
        f"/grids/grids/{ids['grid']}/",
        f"/grids/incidents/{ids['incident']}/",
        "/consultation/",
        f"/consultation/topics/{ids['topic']}/",
        f"/consultation/meetings/{ids['meeting']}/",
        f"/registry/renewal/{ids['renewal']}/",
        "/status/",
    ):
        page.goto(url)
        page.wait_for_load_state("load")
        if "/meetings/" in url:
            shot(page, "csp-meeting-run")  # the classes that replaced style attributes
    assert page.violations() == []


def test_the_residents_pages_break_no_policy(new_page, ids, rita):
    page = watched(new_page, phone=True)
    login(page, "rita")
    for url in ("/", "/points/", "/points/offers/", "/grids/report/", "/consultation/"):
        page.goto(url)
        page.wait_for_load_state("load")
    assert page.violations() == []


def test_the_counter_page_breaks_no_policy(new_page, ids, mike):
    page = watched(new_page, phone=True)
    login(page, "mike")
    page.goto("/points/counter/")
    page.wait_for_load_state("load")
    assert page.violations() == []


def test_the_api_docs_and_the_admin_break_no_policy(new_page, ids, root):
    page = watched(new_page)
    login(page, "root")
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock-tag")
    page.click(".swagger-ui .opblock-tag >> nth=0")  # open the first app's operations
    page.wait_for_selector(".swagger-ui .opblock")
    # Swagger UI's bundle adds one <style> element (style-src-elem), refused without harm: its
    # style sheet is a file. Nothing else may be refused.
    assert [v for v in page.violations() if "style-src-elem" not in v] == []
    for url in ("/admin/", "/admin/users/user/", f"/admin/users/user/{root.pk}/change/"):
        page.goto(url)
        page.wait_for_load_state("load")
    assert [v for v in page.violations() if "/api/docs/" not in v] == []
