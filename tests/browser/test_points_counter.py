"""The merchant counter on a phone without BarcodeDetector (iPhone Safari, Firefox): 扫码
decodes the camera's frames with the vendored jsQR. Chromium's fake camera plays a frame of
the order's QR code; the page must find the order from it. A code used before says when and
where it was used."""

from __future__ import annotations

import io

import pytest
import segno
from PIL import Image

from points import services
from points.models import HolderClass, Merchant, MerchantKind, Offer, TxKind
from points.services import Leg

from .conftest import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, PHONE, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def order(rita, mike, community_a):
    from django.db import transaction

    merchant = Merchant.objects.create(
        code="m1", name="洪川便民超市", kind=MerchantKind.SIGNED, path=community_a.path
    )
    offer = Offer.objects.create(
        merchant=merchant, title="洗衣液一瓶", price=30, stock=20, path=community_a.path
    )
    account = services.account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path)
    with transaction.atomic():
        services.post(
            kind=TxKind.EARN,
            key="browser-seed",
            legs=[Leg(services.issuance_for(community_a.path), -100), Leg(account, 100, 100)],
            path=community_a.path,
            memo="参加志愿服务",
        )
    return services.redemption_order(actor=rita, offer=offer, account=account, idempotency_key="scan")


def _y4m(text: str, path, size=(640, 480)) -> None:
    """A few identical frames of `text` as a QR code, in the YUV4MPEG2 format Chromium's fake
    camera plays (4:2:0: a full-size Y plane, quarter-size U and V planes)."""
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="png", scale=10, border=4)
    qr = Image.open(out).convert("L")
    frame = Image.new("L", size, 255)
    frame.paste(qr, ((size[0] - qr.width) // 2, (size[1] - qr.height) // 2))
    y = frame.tobytes()
    uv = bytes([128]) * (size[0] // 2 * size[1] // 2)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(5):
            f.write(b"FRAME\n" + y + uv + uv)


@pytest.fixture
def camera_browser(browser, order, tmp_path):
    # a second Chromium with a fake camera, launched from the session's Playwright: a second
    # sync_playwright() inside the running one fails ("Sync API inside the asyncio loop")
    video = tmp_path / "qr.y4m"
    _y4m(f"QLJF:{order.code}", video)
    args = [
        *LAUNCH_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    instance = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield instance
    instance.close()


def test_scanning_without_barcode_detector_decodes_the_camera_frame(camera_browser, live_server, order):
    context = camera_browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE
    )
    context.grant_permissions(["camera"], origin=live_server.url)
    # as on iPhone Safari and Firefox: no BarcodeDetector, so the page must use jsQR
    context.add_init_script("delete window.BarcodeDetector; delete Window.prototype.BarcodeDetector;")
    page = context.new_page()
    page.set_default_timeout(20_000)
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    login(page, "mike")
    page.goto("/points/counter/")
    scan = page.get_by_test_id("scan")
    scan.wait_for(state="visible")
    assert page.evaluate("'BarcodeDetector' in window") is False
    shot(page, "points-counter-scan-button-phone")
    scan.click()
    page.get_by_test_id("handover").wait_for()
    assert "洗衣液一瓶 × 1" in page.get_by_test_id("handover").inner_text()
    assert f"code={order.code}" in page.url
    assert any(url.endswith("/vendor/jsqr-1.4.0/jsQR.js") for url in fetched)  # the vendored decoder
    shot(page, "points-counter-scanned-phone")
    context.close()


def test_a_counter_without_a_camera_shows_no_scan_button(new_page, order):
    page = new_page(phone=True)
    page.add_init_script("navigator.mediaDevices.enumerateDevices = () => Promise.resolve([]);")
    login(page, "mike")
    page.goto("/points/counter/")
    page.wait_for_timeout(300)  # the camera check is asynchronous
    assert page.get_by_test_id("scan").is_hidden()


def test_a_used_code_says_when_and_where_it_was_used(new_page, order, mike):
    from django.utils import timezone

    done = services.redemption_verify(actor=mike, code=order.code)
    page = new_page(phone=True)
    login(page, "mike")
    page.goto("/points/counter/")
    page.fill("input[name=code]", order.code)
    page.get_by_test_id("lookup").click()
    at = timezone.localtime(done.closed_at)
    expected = f"该核销码已于 {at:%m-%d %H:%M} 在 洪川便民超市 核销"
    assert expected in page.locator("#code-form").inner_text()
    shot(page, "points-counter-used-code-phone")
    assert ARTIFACTS.exists()
