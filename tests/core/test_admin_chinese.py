"""The admin reads in Chinese, django-axes' section included (it ships no zh_Hans catalogue:
locale/zh_Hans supplies one, compiled and committed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _admin(root, url):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(root)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_admin_index_and_the_axes_section_read_in_chinese(root):
    html = _admin(root, "/admin/")
    assert "邛崃善治 管理后台" in html and "登录安全（失败锁定）" in html
    assert "登录尝试记录" in html and "登录失败记录" in html and "登录日志" in html
    for english in (">Axes<", "Access attempts", "Access failures", "Access logs"):
        assert english not in html
    from axes.models import AccessAttempt

    AccessAttempt.objects.create(
        user_agent="x",
        ip_address="127.0.0.1",
        username="someone",
        http_accept="*/*",
        path_info="/accounts/login/",
        get_data="",
        post_data="",
        failures_since_start=3,
    )  # the list shows its column headers only with a row
    attempts = _admin(root, "/admin/axes/accessattempt/")
    assert "IP 地址" in attempts and "用户名" in attempts and "清理已过期的尝试记录" in attempts


def test_the_compiled_catalogue_matches_its_source():
    """A .po edited without re-running msgfmt would leave the committed .mo stale."""
    pairs = re.findall(r'^msgid "(.+)"\nmsgstr "(.*)"$', PO.read_text(encoding="utf-8"), flags=re.M)
    assert len(pairs) > 30
    with translation.override("zh-hans"):
        stale = {msgid: (want, translation.gettext(msgid)) for msgid, want in pairs}
    assert {k: v for k, v in stale.items() if v[0] != v[1]} == {}
