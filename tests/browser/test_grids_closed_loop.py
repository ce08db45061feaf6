"""A grid worker reports from a phone with a photo → community staff accepts and dispatches
to the department → the department handler resolves with an after-photo → staff verifies →
the reporter evaluates. Screenshots land in tests/browser/artifacts/grids-*.png."""

import pytest
from playwright.sync_api import expect

from grids.models import Incident, Status
from tests.grids.conftest import (  # noqa: F401 - fixtures used by name
    _fast_password_hashing,
    general_a,
    jpeg_bytes,
    micro_a1,
    zjj_category,
)

from .conftest import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def photo_file(tmp_path):
    path = tmp_path / "现场.jpg"
    path.write_bytes(jpeg_bytes((800, 600), color=(90, 140, 60)))
    return path


def test_a_phone_report_goes_round_the_loop(new_page, alice, carol, hank, micro_a1, zjj_category, photo_file):  # noqa: F811
    # 1. the grid worker reports from her phone, with a photo and her position
    page = new_page(phone=True)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 30.4111, "longitude": 103.4611})
    login(page, "alice")
    page.goto("/grids/")
    shot(page, "grids-worker-home-phone")
    page.click("[data-testid=report-button]")
    # the page's script writes the count once it runs: wait for the text (inner_text would read
    # the still-empty element the server sent)
    expect(page.locator("[data-testid=photo-count]")).to_have_text("尚未添加照片")
    page.set_input_files("input[name=photos]", str(photo_file))
    # the photo moved into the draft: the field counts it (the emptied input's own text is hidden)
    page.wait_for_function("() => document.querySelectorAll('#photo-preview img').length === 1")
    expect(page.locator("[data-testid=photo-count]")).to_have_text("已添加 1 张照片，还可添加 8 张")
    page.select_option("select[name=category]", "1002")
    page.select_option("select[name=urgency]", "orange")
    page.fill("textarea[name=description]", "3 栋单元门禁损坏，住户无法正常进出")
    page.click("[data-testid=geo-button]")
    page.wait_for_function("() => document.querySelector('input[name=lat]').value !== ''")
    assert "已定位" in page.inner_text("#geo-status")
    shot(page, "grids-report-form-phone")
    page.click("[data-testid=submit-report]")
    page.wait_for_url("**/grids/incidents/*/")
    assert "事件已上报" in page.inner_text(".messages")
    inc = Incident.objects.get()
    assert inc.micro_grid == micro_a1 and inc.photos.count() == 1  # located from the browser position
    assert page.locator(".photos img").count() == 1
    page.wait_for_function(
        "() => document.querySelector('.photos img').naturalWidth > 0"
    )  # served through the checked view
    shot(page, "grids-reported-detail-phone")

    # 2. community staff accepts (三分) and dispatches to the responsible department
    staff = new_page()
    login(staff, "carol")
    staff.goto("/grids/incidents/?status=reported")
    # the list names the category and the place, never their codes or paths
    row = staff.inner_text(f"[data-testid=incident-{inc.pk}]")
    assert inc.category.name in row and inc.micro_grid.name in row and inc.path not in row
    shot(staff, "grids-incident-list-desktop")
    staff.click(f"[data-testid=incident-{inc.pk}]")
    staff.select_option("select[name=tier]", "department")
    shot(staff, "grids-staff-triage")
    staff.click("[data-testid=do-accept]")
    assert "已受理" in staff.inner_text(".messages")
    staff.click("[data-testid=do-dispatch]")
    assert "已派单" in staff.inner_text(".messages")
    inc.refresh_from_db()
    assert inc.status == Status.IN_PROGRESS and inc.assigned_department.code == "zjj"

    # 3. the department handler resolves it with an after-photo
    handler = new_page(phone=True)
    login(handler, "hank")
    handler.goto("/grids/tasks/")
    handler.click(f"[data-testid=incident-{inc.pk}]")
    handler.fill("textarea[name=result]", "已更换门禁读卡器，现场测试正常")
    handler.set_input_files("form:has([data-testid=do-resolve]) input[name=photos]", str(photo_file))
    shot(handler, "grids-handler-resolve-phone")
    handler.click("[data-testid=do-resolve]")
    assert "已办结" in handler.inner_text(".messages")

    # 4. staff verifies on site
    staff.reload()
    staff.click("[data-testid=do-verify]")
    assert "核查完成" in staff.inner_text(".messages")

    # 5. the reporter evaluates from her phone
    page.reload()
    page.check("input[name=satisfaction][value=satisfied]")
    page.click("[data-testid=do-evaluate]")
    assert "感谢您的评价" in page.inner_text(".messages")
    inc.refresh_from_db()
    assert inc.status == Status.CLOSED and inc.satisfaction == "satisfied"
    timeline = page.inner_text("[data-testid=timeline]")
    for step in ("上报", "受理", "派单", "办结", "核查通过", "评价"):
        assert step in timeline
    shot(page, "grids-closed-detail-phone")


def test_the_report_form_keeps_a_draft_when_offline(new_page, alice, micro_a1, zjj_category):  # noqa: F811
    page = new_page(phone=True)
    login(page, "alice")
    page.goto("/grids/report/")
    page.fill("textarea[name=description]", "河堤护栏松动")
    page.context.set_offline(True)
    page.click("[data-testid=submit-report]")  # offline: kept in the outbox, not sent
    assert page.locator(".offline-banner").is_visible()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=outbox-count]').textContent === '1 条待发送'"
    )
    shot(page, "grids-report-offline-phone")
    page.context.set_offline(False)
    page.goto("/grids/report/")
    # sent by itself once online; refused (no category), it stays with the server's message
    page.wait_for_selector("[data-testid=draft][data-state=failed]")
    assert "失败：" in page.inner_text("[data-testid=draft]")
    page.click("[data-testid=fix-draft]")
    # the draft is read back from IndexedDB: wait for it rather than race it on a loaded machine
    page.wait_for_function("() => document.querySelector('textarea[name=description]').value !== ''")
    assert page.input_value("textarea[name=description]") == "河堤护栏松动"
    assert page.locator(".field.has-error").count() >= 1
    assert not Incident.objects.exists()


def test_a_large_phone_photo_is_scaled_down_before_upload(new_page, alice, micro_a1, zjj_category, tmp_path):  # noqa: F811
    import io
    import os

    from PIL import Image

    big = Image.frombytes("RGB", (3200, 2400), os.urandom(3200 * 2400 * 3))
    out = io.BytesIO()
    big.save(out, format="JPEG", quality=90)
    path = tmp_path / "大图.jpg"
    path.write_bytes(out.getvalue())
    assert path.stat().st_size > 1024 * 1024
    page = new_page(phone=True)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 30.4111, "longitude": 103.4611})
    login(page, "alice")
    page.goto("/grids/report/")
    page.click("[data-testid=geo-button]")  # the position first: scaling drops the photo's EXIF GPS
    page.wait_for_function("() => document.querySelector('input[name=lat]').value !== ''")
    page.set_input_files("input[name=photos]", str(path))
    page.select_option("select[name=category]", "1002")
    page.fill("textarea[name=description]", "楼道堆满杂物")
    page.click("[data-testid=submit-report]")  # waits for the scaled copy, then sends it
    page.wait_for_url("**/grids/incidents/*/")
    photo = Incident.objects.get().photos.get()
    assert (photo.width, photo.height) == (1280, 960)  # longest side 1,280 px on the phone
