"""Staff pages at 1366 px: the grouped menu stays on one row and opens as a drop-down; the
ranking's 导出 Excel downloads a workbook on first load; 系统状态 is a page people can read."""

from __future__ import annotations

import pytest
from django.db import transaction

from points import services
from points.models import HolderClass, TxKind
from points.services import Leg

from .conftest import ARTIFACTS, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"viewport": {"width": 1366, "height": 768}}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def laptop(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True, **LAPTOP
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def admin_user(root):
    root.set_password("pass-12345")
    root.save()
    return root


def test_the_staff_menu_fits_one_row_at_1366_and_opens_a_group(laptop, admin_user, carol):
    login(laptop, "root")
    laptop.goto("/")
    bar = laptop.locator("header.topbar").bounding_box()
    assert bar["height"] < 70, bar  # one row (two rows were ~90 px)
    grids = laptop.get_by_test_id("navgroup").filter(has_text="网格")
    grids.locator("summary").click()
    menu = grids.locator(".navmenu")
    assert menu.is_visible() and "事件" in menu.inner_text()
    # the viewport only: a full-page capture resizes the window, which lays the menu out anew
    ARTIFACTS.mkdir(exist_ok=True)
    laptop.screenshot(path=str(ARTIFACTS / "site-staff-menu-open-1366.png"))
    laptop.mouse.click(700, 500)  # a click elsewhere closes it
    assert not menu.is_visible()


def test_the_ranking_export_downloads_a_workbook_on_first_load(laptop, carol, rita, community_a):
    account = services.account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path)
    with transaction.atomic():
        services.post(
            kind=TxKind.EARN,
            key="browser-rank",
            legs=[Leg(services.issuance_for(community_a.path), -40), Leg(account, 40, 40)],
            path=community_a.path,
            memo="志愿服务",
        )
    login(laptop, "carol")
    laptop.goto("/points/staff/ranking/")
    assert f"{community_a.town.name} › {community_a.name}" in laptop.get_by_test_id("ranking").inner_text()
    shot(laptop, "points-ranking-1366")
    with laptop.expect_download() as download:
        laptop.get_by_test_id("export").click()
    assert download.value.suggested_filename.endswith(".xlsx")


def test_the_status_page_reads_in_words(laptop, rita):
    login(laptop, "rita")
    laptop.goto("/")
    laptop.click("footer >> text=系统状态")
    assert "系统运行正常" in laptop.get_by_test_id("status").inner_text()
    shot(laptop, "site-status-1366")


def test_a_resident_on_a_phone_sees_grouped_menu_entries_and_no_api_tile(new_page, rita, community_a):
    services.account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path)
    page = new_page(phone=True)
    login(page, "rita")
    page.goto("/")
    assert "API 文档" not in page.locator("main").inner_text()
    page.click("text=菜单")
    nav = page.locator("#mainnav")
    assert nav.get_by_text("我的积分").is_visible()  # inside 积分, shown open on a phone
    shot(page, "site-resident-menu-phone")
