"""Content-Security-Policy: scripts and style sheets from this site only (issue #12 §5)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_BLOCK = re.compile(r"<style\b", re.IGNORECASE)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
# a script that writes a style attribute (CSSOM property sets, el.style.x = …, are allowed)
SCRIPT_STYLE_ATTR = re.compile(r"setAttribute\(\s*[\"']style|style=", re.IGNORECASE)


def directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_every_page_carries_a_policy_allowing_only_this_sites_scripts_and_styles(client, rita):
    client.force_login(rita)
    policy = directives(client.get("/")["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"] and policy["style-src-elem"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    # style attributes are refused too: no directive allows anything inline
    assert policy["style-src-attr"] == ["'none'"]
    assert not any("'unsafe-inline'" in values for values in policy.values())


def test_the_api_docs_load_their_script_from_a_file_not_inline(client, carol):
    client.force_login(carol)
    html = client.get("/api/docs/").content.decode()
    assert not INLINE_SCRIPT.search(html)


@pytest.mark.parametrize(
    "pattern",
    [INLINE_HANDLER, INLINE_SCRIPT, STYLE_BLOCK, STYLE_ATTR],
    ids=["handler", "script", "style", "style-attribute"],
)
def test_no_template_needs_inline_script_or_a_style_block(pattern):
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_no_page_script_writes_a_style_attribute():
    scripts = Path(settings.BASE_DIR) / "static" / "js"
    offenders = [
        str(path.relative_to(scripts))
        for path in scripts.rglob("*.js")
        if SCRIPT_STYLE_ATTR.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def _both_headers(request_factory_request, view):
    """The CSP headers django-csp's own middleware and ours write for the same view."""
    from csp.middleware import CSPMiddleware as Theirs

    from qionglai.core.middleware import CSPMiddleware as Ours

    out = []
    for middleware in (Theirs(view), Ours(view)):
        response = middleware(request_factory_request())
        out.append(
            {h: response.get(h) for h in ("Content-Security-Policy", "Content-Security-Policy-Report-Only")}
        )
    return out


def _views():
    from csp.decorators import csp_exempt, csp_replace, csp_update
    from django.http import HttpResponse

    def plain(request):
        return HttpResponse("ok")

    def with_nonce(request):
        return HttpResponse(str(request.csp_nonce))

    @csp_update({"img-src": ["https://tiles.example.org"]})
    def updated(request):
        return HttpResponse("ok")

    @csp_replace({"script-src": ["'self'", "https://cdn.example.org"]})
    def replaced(request):
        return HttpResponse("ok")

    @csp_exempt()
    def exempt(request):
        return HttpResponse("ok")

    return {"plain": plain, "nonce": with_nonce, "update": updated, "replace": replaced, "exempt": exempt}


@pytest.mark.parametrize("kind", ["plain", "nonce", "update", "replace", "exempt"])
@pytest.mark.parametrize("report_only", [False, True], ids=["enforced", "and-report-only"])
def test_the_policy_built_once_is_django_csps_own_header(rf, settings, kind, report_only):
    if report_only:
        settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"]}}
    view = _views()[kind]
    for _ in range(2):  # the second time from the policy built the first time
        theirs, ours = _both_headers(lambda: rf.get("/api/v1/incidents/"), view)
        assert ours == theirs
        assert (ours["Content-Security-Policy"] is None) == (kind == "exempt")
        # @csp_exempt() exempts the enforced policy only
        assert (ours["Content-Security-Policy-Report-Only"] is None) == (not report_only)


def test_a_changed_setting_changes_the_policy_built_once(rf, settings):
    view = _views()["plain"]
    before = _both_headers(lambda: rf.get("/"), view)[1]["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "DIRECTIVES": {
            **settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
            "img-src": ["'self'", "https://x.example"],
        },
    }
    theirs, ours = _both_headers(lambda: rf.get("/"), view)
    assert ours == theirs and ours["Content-Security-Policy"] != before
