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
