"""Playwright driving Debian's Chromium (never a downloaded browser) against pytest-django's
live server. Screenshots land in tests/browser/artifacts/ for people to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make to set
# up data are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--lang=zh-CN",
]
# Chromium's own interface strings (the file button's 选择文件 / 未选择任何文件) follow the
# process's language, not the page context's locale; Debian's chromium-l10n carries them.
# Only LANGUAGE: a LANG naming a locale the machine has not generated (zh_CN.UTF-8) would
# leave Chromium unable to read the tests' Chinese file names (现场.jpg).
CHINESE = {**os.environ, "LANGUAGE": "zh_CN"}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}


def pytest_collection_modifyitems(config, items):
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return
    reason = f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium chromium-l10n fonts-noto-cjk)"
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS, env=CHINESE
        )
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser, live_server):
    """Opens pages on the live server: new_page(phone=True) for a phone viewport."""
    contexts = []

    def open_page(*, phone: bool = False):
        context = browser.new_context(
            base_url=live_server.url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            **(PHONE if phone else DESKTOP),
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def login(page, username: str, password: str = "pass-12345") -> None:
    """Signs in as a person does: password, then (staff) the code from their authenticator,
    enrolled beforehand like a real staff member's phone."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from qionglai.users.models import User
    from qionglai.users.second_factor import required_for
    from tests.conftest import totp_now

    user = User.objects.get(username=username)
    device = None
    if required_for(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="手机验证器", confirmed=True
        )
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if device is not None:
        page.wait_for_url(lambda url: "/accounts/otp/verify/" in url)
        page.fill("input[name=token]", totp_now(device))
        page.click("main button.primary[type=submit]")
        page.wait_for_url(lambda url: "/accounts/otp/" not in url)


def submit(page, selector: str) -> None:
    """Clicks a button that submits a form and waits for the page the server answers with.
    A bare click returns as soon as the click is dispatched, and wait_for_load_state() right
    after it can see the old page still loaded, so what follows would read the old page."""
    with page.expect_navigation():
        page.click(selector)


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
