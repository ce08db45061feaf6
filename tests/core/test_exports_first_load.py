"""Every export link on the site works the first time a page is opened: each page without an
id in its URL is opened fresh (no query string) by staff of each level, every 导出 link on it
is followed, and each must answer a file, not the page again (the ranking's link once read
`?&format=xlsx` on first load and returned HTML)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin

import pytest
from django.db import transaction
from django.test import Client

from points import services as points
from points.models import HolderClass, TxKind

from .test_no_500_pages import _concrete, _patterns

pytestmark = pytest.mark.django_db

EXPORT_LINK = re.compile(r'<a\b[^>]*href="([^"]+)"[^>]*>([^<]*导出[^<]*)</a>')
FILE_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/csv",
)


def _pages() -> list[str]:
    return sorted(
        u for u in map(_concrete, _patterns()) if u and "999999" not in u and not u.endswith("logout/")
    )


def _earn(user, path, amount):
    account = points.account_open(user=user, holder_class=HolderClass.RESIDENT, path=path)
    with transaction.atomic():
        points.post(
            kind=TxKind.EARN,
            key=f"export-test:{account.pk}",
            legs=[points.Leg(points.issuance_for(path), -amount), points.Leg(account, amount, amount)],
            path=path,
            memo="测试入账",
        )


def test_every_export_link_answers_a_file_on_first_load(carol, tina, victor, rita, community_a):
    _earn(rita, community_a.path, 40)  # so the ranking has a row and shows its export link
    followed = {}
    for user in (carol, tina, victor):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for page in _pages():
            response = client.get(page)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            for href, label in EXPORT_LINK.findall(response.content.decode()):
                url = urljoin(page, unescape(href))
                got = client.get(url)
                followed[(user.username, page, label.strip())] = (
                    got.status_code,
                    got.get("Content-Type", "").split(";")[0],
                    "attachment" in got.get("Content-Disposition", ""),
                )
    assert ("carol", "/points/staff/ranking/", "导出 Excel") in followed  # the case that broke
    assert len({page for _, page, _ in followed}) >= 2, followed  # more than one page's exports
    bad = {k: v for k, v in followed.items() if v[0] != 200 or v[1] not in FILE_TYPES or not v[2]}
    assert bad == {}
