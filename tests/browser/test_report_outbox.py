"""The report page's outbox on a phone: every field and the photos survive an offline reload
(the service worker serves the page), and reports sent through forced disconnects — at random
moments, mid-upload included — arrive once each with their own photos. Chromium's network
emulation (CDP) throttles the upload so a disconnect can land inside it."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from grids.models import Incident, IncidentPhoto
from tests.browser.conftest import login, shot
from tests.grids.conftest import general_a, micro_a1, micro_b1, zjj_category  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CYCLES = 20
PHOTOS = 3


def _photo(tmp_path, name: str, size: tuple[int, int], color) -> str:
    path = tmp_path / name
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG", quality=90)
    path.write_bytes(out.getvalue())
    return str(path)


def _network(cdp, *, offline: bool) -> None:
    # a slow link (≈ 400 kbit/s up), so three photos take a moment to upload
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 100, "downloadThroughput": 250_000, "uploadThroughput": 50_000},
    )


SETTLED = """() => location.pathname !== '/grids/report/' ||
  ![...document.querySelectorAll('[data-testid=draft]')].some(
    d => d.dataset.state === 'sending' || d.dataset.state === 'pending')"""


def _settle(page) -> None:
    """Until nothing waits to be sent, or the sent report opened its page (a navigation in
    between destroys the page's context: look again)."""
    from playwright.sync_api import Error

    for _ in range(120):
        try:
            if page.evaluate(SETTLED):
                page.wait_for_load_state()
                return
        except Error:
            pass
        page.wait_for_timeout(500)
    raise AssertionError("the outbox did not settle within a minute")


def _photo_size(photo: IncidentPhoto) -> tuple[int, int]:
    if photo.width:
        return photo.width, photo.height
    source = photo.image if photo.image else photo.quarantine
    with source.open("rb") as f, Image.open(f) as image:
        return image.size


def test_every_field_and_the_photo_survive_an_offline_reload(
    new_page,
    alice,
    micro_a1,  # noqa: F811
    zjj_category,  # noqa: F811
    tmp_path,
):
    page = new_page(phone=True)
    login(page, "alice")
    page.goto("/grids/report/")
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")  # the page is precached
    page.select_option("select[name=category]", "1002")
    page.select_option("select[name=urgency]", "red")
    page.fill("textarea[name=description]", "河堤护栏松动，有落水危险")
    page.fill("input[name=address]", "南河桥东侧")
    page.select_option("select[name=micro_grid]", str(micro_a1.pk))
    page.set_input_files("input[name=photos]", _photo(tmp_path, "现场.jpg", (640, 480), (200, 40, 40)))
    page.wait_for_selector("#photo-preview img")
    page.wait_for_function("() => document.querySelector('#draft-status').textContent.includes('草稿')")

    page.context.set_offline(True)
    page.reload()  # served by the service worker, not the browser's error page
    assert page.locator("h1").inner_text().startswith("随手报")
    page.wait_for_function("() => document.querySelector('#draft-status').textContent.includes('已恢复')")
    assert page.input_value("select[name=urgency]") == "red"
    assert page.input_value("select[name=category]") == "1002"
    assert page.input_value("textarea[name=description]") == "河堤护栏松动，有落水危险"
    assert page.input_value("input[name=address]") == "南河桥东侧"
    assert page.input_value("select[name=micro_grid]") == str(micro_a1.pk)
    assert page.locator("#photo-preview img").count() == 1
    assert page.locator(".offline-banner").is_visible()

    page.click("[data-testid=submit-report]")  # offline: into the outbox
    page.wait_for_function(
        "() => document.querySelector('[data-testid=outbox-count]').textContent === '1 条待发送'"
    )
    shot(page, "grids-report-outbox-offline-phone")
    assert not Incident.objects.exists()

    page.context.set_offline(False)  # back online: it sends by itself
    page.wait_for_url("**/grids/incidents/*/", timeout=30_000)
    incident = Incident.objects.get()
    assert (incident.urgency, incident.category.code, incident.micro_grid_id) == ("red", "1002", micro_a1.pk)
    assert incident.address == "南河桥东侧"
    assert incident.photos.count() == 1
    shot(page, "grids-report-outbox-sent-phone")


def test_a_photo_picked_before_the_script_ran_goes_with_the_report(
    new_page,
    alice,
    micro_a1,  # noqa: F811
    zjj_category,  # noqa: F811
    tmp_path,
):
    """On a slow link the form shows before its deferred script has arrived: a photo chosen
    then fired its change event with no listener, and the report went without it (seen once in
    CI as a report with 0 photos)."""
    held = []
    page = new_page(phone=True)
    login(page, "alice")

    released = []

    def hold(route):  # the script waits until the photo is in the input
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route("**/js/grids-report*.js", hold)
    page.goto("/grids/report/", wait_until="commit")  # "load" would wait for the held script
    page.wait_for_selector("input[name=photos]", state="attached")
    page.set_input_files("input[name=photos]", _photo(tmp_path, "先选.jpg", (640, 480), (40, 120, 200)))
    for _ in range(50):  # the route handler runs while Playwright waits
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page asked for its script"
    assert page.locator("#photo-preview img").count() == 0  # nothing has taken the photo yet
    released.append(True)
    for route in held:
        route.continue_()
    page.wait_for_selector("#photo-preview img")  # the script took the photo already chosen
    page.select_option("select[name=category]", "1002")
    page.fill("textarea[name=description]", "路灯不亮，夜间行人看不清")
    page.select_option("select[name=micro_grid]", str(micro_a1.pk))
    page.click("[data-testid=submit-report]")
    page.wait_for_url("**/grids/incidents/*/", timeout=30_000)
    assert Incident.objects.get().photos.count() == 1


def test_reports_through_forced_disconnects_arrive_once_each_with_their_photos(
    new_page,
    alice,
    micro_a1,  # noqa: F811
    zjj_category,  # noqa: F811
    tmp_path,
):
    rng = random.Random(11)
    page = new_page(phone=True)
    login(page, "alice")
    page.goto("/grids/report/")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    _network(cdp, offline=False)
    expected = {}
    for i in range(CYCLES):
        size = (300 + 8 * i, 200 + 6 * i)  # each cycle's photos have their own size
        files = [_photo(tmp_path, f"c{i}-{k}.jpg", size, (20 * k, 10 * i, 90)) for k in range(PHOTOS)]
        expected[f"第{i}次上报：路面塌陷"] = size
        page.select_option("select[name=category]", "1002")
        page.select_option("select[name=urgency]", rng.choice(["red", "orange", "yellow", "blue"]))
        page.fill("textarea[name=description]", f"第{i}次上报：路面塌陷")
        page.select_option("select[name=micro_grid]", str(micro_a1.pk))
        page.set_input_files("input[name=photos]", files)
        page.wait_for_function(f"() => document.querySelectorAll('#photo-preview img').length === {PHOTOS}")
        page.click("[data-testid=submit-report]")
        # the link drops at a random moment: before, during or after the upload
        page.wait_for_timeout(rng.randint(0, 1500))
        _network(cdp, offline=True)
        page.wait_for_timeout(rng.randint(200, 800))
        _network(cdp, offline=False)
        _settle(page)
        if not page.url.endswith("/grids/report/"):
            page.goto("/grids/report/")  # the foreground send succeeded and opened its incident
    page.goto("/grids/report/")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=draft]').length >= 1 && "
        "document.querySelectorAll('[data-testid=draft]:not([data-state=sent])').length === 0",
        timeout=180_000,
    )
    shot(page, "grids-report-outbox-after-disconnects-phone")

    incidents = list(Incident.objects.all())
    descriptions = [i.description for i in incidents]
    assert sorted(descriptions) == sorted(expected)  # 0 lost, 0 doubled
    for incident in incidents:
        photos = list(incident.photos.all())
        assert len(photos) == PHOTOS
        assert {_photo_size(p) for p in photos} == {expected[incident.description]}  # the right incident


@pytest.fixture
def phone_without_worker(browser, live_server):
    """A phone whose browser has no service worker (as iOS in-app browsers): the outbox is the
    page's own script, so everything it promises must hold without one. Blocking the worker also
    lets `page.route` see every request the page makes."""
    from tests.browser.conftest import PHONE

    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        service_workers="block",
        **PHONE,
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _noise_photo(tmp_path, name: str, size: tuple[int, int]) -> str:
    """A photo no encoder can make small (sensor noise), so its upload takes seconds."""
    import os

    path = tmp_path / name
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, format="JPEG", quality=92)
    path.write_bytes(out.getvalue())
    return str(path)


def _fill(page, micro_a1, description: str) -> None:  # noqa: F811 - the fixture, passed in
    page.select_option("select[name=category]", "1002")
    page.select_option("select[name=urgency]", "orange")
    page.fill("textarea[name=description]", description)
    page.select_option("select[name=micro_grid]", str(micro_a1.pk))


def _state(page) -> tuple[str, str]:
    item = page.locator("[data-testid=draft]").first
    return item.get_attribute("data-state"), item.locator(".outbox-state").inner_text()


def _wait_failed_send(page, sent: list, n: int) -> None:
    """Until the n-th send has been tried and the draft shows why it waits again (before the
    first send the fresh draft is 待发送 too, without a reason: that is not the failure)."""
    for _ in range(40):
        if len(sent) >= n:
            break
        page.wait_for_timeout(250)
    assert len(sent) == n
    page.wait_for_function(
        "() => { const d = document.querySelector('[data-testid=draft]');"
        " return d && d.dataset.state === 'pending' && d.textContent.includes('网络不通'); }"
    )


def test_an_unanswered_draft_is_resent_every_minute_backing_off_and_when_the_page_is_seen_again(
    phone_without_worker,
    alice,
    micro_a1,  # noqa: F811
    zjj_category,  # noqa: F811
    tmp_path,
):
    """The server cannot be reached (the request fails, though the phone says it is online):
    the draft waits with 待发送 and why — never a success that did not happen — and is sent again
    60 s later, then 120 s after the second failure (back-off), and at once when the page
    becomes visible after its time has come. The page's clock is Playwright's, moved by hand."""
    page = phone_without_worker
    login(page, "alice")
    page.clock.install()  # before the page's script sets its 60 s interval
    sent, failing = [], [True]

    def post(route):
        if route.request.method != "POST":
            route.continue_()
            return
        sent.append(route.request.post_data_buffer is not None)
        if failing[0]:
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route("**/grids/report/", post)
    page.goto("/grids/report/")
    _fill(page, micro_a1, "井盖缺失，夜间危险")
    page.set_input_files("input[name=photos]", _photo(tmp_path, "井盖.jpg", (640, 480), (90, 90, 90)))
    page.wait_for_selector("#photo-preview img")
    page.click("[data-testid=submit-report]")
    _wait_failed_send(page, sent, 1)
    assert _state(page) == ("pending", "待发送（网络不通，稍后自动重发）")
    assert page.locator("#draft-status").inner_text() == "未能发出，已存入待发送，稍后自动重发"
    assert page.locator("[data-testid=outbox-count]").inner_text() == "1 条待发送"
    assert len(sent) == 1 and not Incident.objects.exists()

    page.clock.fast_forward(61_000)  # the minute's tick: due, sent again, fails again
    _wait_failed_send(page, sent, 2)

    page.clock.fast_forward(61_000)  # the next tick: backing off, not due for 120 s
    page.wait_for_timeout(1_000)
    assert len(sent) == 2
    page.clock.fast_forward(60_000)  # 121 s after the second failure: sent a third time
    _wait_failed_send(page, sent, 3)
    assert not Incident.objects.exists()

    failing[0] = False  # the server is back; the page was in the background past the next try
    page.clock.set_system_time(page.evaluate("Date.now()") + 241_000)  # no timer fires
    page.wait_for_timeout(500)
    assert len(sent) == 3
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_url("**/grids/incidents/*/", timeout=30_000)  # submitted here: it opens the incident
    assert len(sent) == 4
    incident = Incident.objects.get()
    assert (incident.description, incident.urgency, incident.photos.count()) == (
        "井盖缺失，夜间危险",
        "orange",
        1,
    )


def test_a_draft_left_in_the_outbox_is_sent_when_the_page_opens_with_progress_per_photo(
    phone_without_worker,
    alice,
    micro_a1,  # noqa: F811
    zjj_category,  # noqa: F811
    tmp_path,
):
    """A draft that could not go (the worker closed the page) goes on the next page load, by
    itself, with each photo's upload progress shown on a slow link; the photos are scaled on the
    phone (longest side ≤ 1,280 px) before they are kept as Blobs in IndexedDB."""
    page = phone_without_worker
    login(page, "alice")
    page.route("**/grids/report/", lambda r: r.abort() if r.request.method == "POST" else r.continue_())
    page.goto("/grids/report/")
    _fill(page, micro_a1, "山体落石，道路半幅受阻")
    big = [_noise_photo(tmp_path, f"落石{k}.jpg", (2400, 1800)) for k in range(2)]
    page.set_input_files("input[name=photos]", big)
    page.wait_for_function("() => document.querySelectorAll('#photo-preview img').length === 2")
    page.click("[data-testid=submit-report]")
    page.wait_for_function("() => document.querySelector('[data-testid=draft]')?.dataset.state === 'pending'")
    kept = page.evaluate(
        """() => new Promise((resolve, reject) => {
          const open = indexedDB.open("qionglai-report-" + document.getElementById("report-form").dataset.user);
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const get = open.result.transaction("outbox").objectStore("outbox").getAll();
            get.onsuccess = async () => {
              const d = get.result[0];
              const sides = await Promise.all(d.photos.map(p => createImageBitmap(p.blob)
                .then(b => [b.width, b.height])));
              resolve({fields: d.fields, key: d.key, blobs: d.photos.map(p => p.blob instanceof Blob),
                       types: d.photos.map(p => p.blob.type), sides, bytes: d.photos.map(p => p.blob.size)});
            };
          };
        })"""
    )
    assert kept["blobs"] == [True, True] and kept["types"] == ["image/jpeg", "image/jpeg"]
    assert kept["sides"] == [[1280, 960], [1280, 960]]  # scaled on the phone
    assert all(b < 400 * 1024 for b in kept["bytes"])  # from ~1.8 MB each: noise at the floor quality
    assert kept["fields"]["urgency"] == "orange" and kept["fields"]["micro_grid"] == str(micro_a1.pk)
    assert kept["key"]  # the idempotency key made on the phone

    page.unroute("**/grids/report/")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    _network(cdp, offline=False)  # ≈ 400 kbit/s up: a few seconds for the two photos
    page.reload()  # the page opens: the outbox sends by itself
    page.wait_for_function(
        "() => /发送中 照片1 \\d+%，照片2 \\d+%/.test(document.querySelector('.outbox-state')?.textContent || '')",
        timeout=30_000,
    )
    shot(page, "grids-report-outbox-progress-phone")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=draft]')?.dataset.state === 'sent'", timeout=60_000
    )
    incident = Incident.objects.get()
    assert page.locator(".outbox-state").inner_text() == f"已上报 #{incident.pk}"
    assert incident.client_key == kept["key"] and incident.photos.count() == 2


def test_a_position_outside_the_grant_says_where_it_is_and_keeps_the_photo_and_fields(
    phone_without_worker,
    alice,
    micro_a1,  # noqa: F811
    micro_b1,  # noqa: F811
    zjj_category,  # noqa: F811
    tmp_path,
):
    """alice (community A) stands in community B's micro-grid: the server refuses with where the
    position is, the draft stays in the outbox as 失败：<that message>, and 修改后重新提交 brings
    back every field and the photo, with the message beside the micro-grid, whose list offers
    alice's own micro-grids. She picks one and the report goes, photo and all."""
    page = phone_without_worker
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 30.421, "longitude": 103.471})  # inside micro_b1
    login(page, "alice")
    page.goto("/grids/report/")
    page.select_option("select[name=category]", "1002")
    page.select_option("select[name=urgency]", "red")
    page.fill("textarea[name=description]", "桥头护栏断裂")
    page.fill("input[name=address]", "大同桥头")
    page.click("[data-testid=geo-button]")
    page.wait_for_function("() => document.getElementById('geo-status').textContent.startsWith('已定位')")
    page.set_input_files("input[name=photos]", _photo(tmp_path, "护栏.jpg", (640, 480), (10, 160, 60)))
    page.wait_for_selector("#photo-preview img")
    page.click("[data-testid=submit-report]")
    page.wait_for_function("() => document.querySelector('[data-testid=draft]')?.dataset.state === 'failed'")
    message = f"该位置属于{micro_b1.community.name}「{micro_b1.name}」，不在您可上报的范围内：请从下方选择您负责的微网格"
    assert _state(page) == ("failed", f"失败：{message}")
    assert (
        page.locator("#draft-status").inner_text() == "未能上报，草稿保留在上方待发送列表中，请修改后重新提交"
    )
    assert page.locator("[data-testid=outbox-count]").inner_text() == "1 条待发送"
    assert not Incident.objects.exists()
    shot(page, "grids-report-outside-grant-phone")

    page.click("[data-testid=fix-draft]")
    page.wait_for_function(
        "() => document.querySelector('textarea[name=description]').value === '桥头护栏断裂'"
    )
    assert page.input_value("select[name=urgency]") == "red"
    assert page.input_value("textarea[name=description]") == "桥头护栏断裂"
    assert page.input_value("input[name=address]") == "大同桥头"
    assert page.locator("#photo-preview img").count() == 1
    assert page.locator(".field.has-error .error").inner_text() == message
    offered = page.locator("select[name=micro_grid] option").evaluate_all("os => os.map(o => o.value)")
    assert str(micro_a1.pk) in offered and str(micro_b1.pk) not in offered  # her own micro-grids
    page.select_option("select[name=micro_grid]", str(micro_a1.pk))
    page.click("[data-testid=submit-report]")
    page.wait_for_url("**/grids/incidents/*/", timeout=30_000)
    incident = Incident.objects.get()
    assert (incident.micro_grid_id, incident.urgency, incident.address) == (micro_a1.pk, "red", "大同桥头")
    assert incident.photos.count() == 1
