"""The frame around every page: a grouped menu that fits one row, tiles only for what a person
uses, a readable 系统状态 page, /favicon.ico, and the API root at /api/v1/."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _get(user, url):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client.get(url)


def _top_level(html: str) -> list[str]:
    nav = html[html.index('id="mainnav"') : html.index("</nav>", html.index('id="mainnav"'))]
    nav = re.sub(r'<div class="navmenu">.*?</div>', "", nav, flags=re.S)
    return re.findall(r"<summary>([^<]+)</summary>|<a [^>]*>([^<]+)</a>", nav)


def test_the_staff_menu_is_a_few_grouped_menus(carol, root):
    for user in (carol, root):
        html = _get(user, "/").content.decode()
        top = [a or b for a, b in _top_level(html)]
        assert len(top) <= 8, top  # 17 entries for an admin once, in one row at 1366 px now
        assert "网格" in top and "积分" in top


def test_grid_workers_and_residents_get_no_api_docs_tile(alice, rita, tina):
    assert "API 文档" not in _get(alice, "/").content.decode()
    assert "API 文档" not in _get(rita, "/").content.decode()
    assert "API 文档" in _get(tina, "/").content.decode()


def test_the_home_page_names_the_places_of_a_persons_roles(carol, community_a):
    html = _get(carol, "/").content.decode()
    assert f"{community_a.town.name} › {community_a.name}" in html and community_a.path not in html


def test_the_footer_status_link_opens_a_readable_page(rita):
    html = _get(rita, "/").content.decode()
    assert 'href="/status/">系统状态</a>' in html
    response = _get(None, "/status/")
    text = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "系统运行正常" in text and "数据库" in text and "正常" in text
    assert _get(None, "/healthz").json()["status"] == "ok"  # monitors keep their JSON


def test_favicon_ico_exists():
    response = _get(None, "/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header


def test_the_api_root_lists_the_collections_instead_of_the_html_404():
    response = _get(None, "/api/v1/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["docs"].endswith("/api/docs/")
    assert body["endpoints"]["town-list"].endswith("/api/v1/towns/")
    assert all("/api/v1/" in url for url in body["endpoints"].values())
