"""Every page answers hostile query strings without a 500: each URL pattern of the site is
requested by an admin (who passes every permission check, so the request reaches the view's
own parsing) with junk filters, and with ids that do not exist."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

JUNK_QUERY = {
    "page": "abc",
    "page_size": "-1",
    "community": "1; DROP TABLE",
    "town": "码" * 200,
    "status": "ultraviolet",
    "step": "<script>",
    "q": "%' OR 1=1 --",
    "date_from": "2026-13-45",
    "date_to": "yesterday",
    "grid": "[]",
    "category": "NaN",
    "month": "2026-99",
}
SKIP_PREFIXES = ("admin/", "api/", "open311/", "static/", "media/", "__debug__")


def _patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _concrete(route: str) -> str | None:
    route = route.lstrip("^").rstrip("$")
    if route.startswith(SKIP_PREFIXES) or "(?P" in route:
        return None
    return "/" + re.sub(r"<(?:int:|slug:|str:|path:)?[^>]+>", "999999", route)


def test_no_page_answers_junk_with_a_500(root):
    client = Client(raise_request_exception=False)
    client.force_login(root)
    urls = sorted({u for u in map(_concrete, _patterns()) if u})
    assert len(urls) > 30, urls  # the whole site, not an empty list
    failures = []
    for url in urls:
        if url.endswith(("logout/",)):
            continue
        response = client.get(url, JUNK_QUERY)
        if response.status_code >= 500:
            failures.append((url, response.status_code))
    assert failures == []


def test_a_nul_character_is_refused_with_a_400_everywhere(root, carol):
    client = Client(raise_request_exception=False)
    client.force_login(carol)
    page = client.get("/grids/incidents/", {"q": "漏水\x00"})
    assert page.status_code == 400 and "空字符" in page.content.decode()
    form = client.post("/consultation/topics/new/", {"title": "标题\x00", "description": "x"})
    assert form.status_code == 400
    api = client.get("/api/v1/consultation/topics/", {"status": "\x00"})
    assert api.status_code == 400 and set(api.json()) == {"message", "fields"}
    assert client.get("/grids/incidents/", {"q": "漏水"}).status_code == 200
