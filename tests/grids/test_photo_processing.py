"""Photos are checked cheaply in the request and re-encoded by a task after commit: until then
the original sits in quarantine and nothing serves it; a photo the full decode refuses is
rejected, never served, and the incident's history says so."""

import io
import struct
import threading
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from grids import services
from grids.models import EventKind, Incident, IncidentEvent, IncidentPhoto, PhotoStatus
from grids.storage import private_storage, quarantine_storage
from qionglai.core.models import Notification
from tests.conftest import api_as

from .conftest import ensure_reference_data, jpeg_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"


def files_in(storage) -> list[Path]:
    root = Path(storage.location)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_with_garbage_pixels() -> bytes:
    """Every chunk well formed with a correct CRC, so the header and structure checks pass; the
    compressed pixel data is noise, which only a full decode discovers."""
    ihdr = struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0)
    noise = bytes((i * 37 + 11) % 256 for i in range(2048))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", noise) + _chunk(b"IEND", b"")


def post_report(user, micro_grid, category, content: bytes, name: str = "p.jpg"):
    photo = SimpleUploadedFile(name, content, content_type="image/jpeg")
    return api_as(user).post(
        URL,
        {
            "category": category.code,
            "description": "路灯不亮",
            "micro_grid": micro_grid.pk,
            "photos": [photo],
        },
        format="multipart",
    )


def test_the_upload_waits_in_quarantine_unserved_until_the_task_has_cleaned_it(
    client, alice, bob, rita, micro_a1, category, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_report(alice, micro_a1, category, jpeg_bytes((640, 480)))
    assert response.status_code == 201, response.content
    photo = IncidentPhoto.objects.get()
    assert photo.status == PhotoStatus.PROCESSING and not photo.image and not photo.thumbnail
    assert len(files_in(quarantine_storage)) == 1 and files_in(private_storage) == []
    quarantine_root = Path(quarantine_storage.location).resolve()
    assert not quarantine_root.is_relative_to(Path(private_storage.location).resolve())

    client.force_login(alice)
    assert client.get(reverse("grids:photo", args=[photo.pk])).status_code == 404
    assert client.get(reverse("grids:photo-thumb", args=[photo.pk])).status_code == 404
    page = client.get(reverse("grids:incident-detail", args=[photo.incident_id])).content.decode()
    assert "照片处理中" in page and reverse("grids:photo", args=[photo.pk]) not in page

    with django_capture_on_commit_callbacks(execute=True):  # the commit: the task runs (eagerly)
        for callback in callbacks:
            callback()
    photo.refresh_from_db()
    assert photo.status == PhotoStatus.READY and photo.processed_at is not None
    assert files_in(quarantine_storage) == []  # the original is gone once the clean copy exists
    assert len(files_in(private_storage)) == 2  # photo and thumbnail
    with photo.image.open("rb") as f:
        assert Image.open(io.BytesIO(f.read())).size == (640, 480)

    response = client.get(reverse("grids:photo", args=[photo.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert client.get(reverse("grids:photo-thumb", args=[photo.pk])).status_code == 200
    page = client.get(reverse("grids:incident-detail", args=[photo.incident_id])).content.decode()
    assert "照片处理中" not in page and reverse("grids:photo-thumb", args=[photo.pk]) in page
    for outsider in (bob, rita):  # another community's grid worker; a resident who did not report it
        client.force_login(outsider)
        assert client.get(reverse("grids:photo", args=[photo.pk])).status_code == 404


def test_a_photo_that_passes_the_cheap_checks_but_not_the_full_decode_ends_rejected_and_unserved(
    client, alice, micro_a1, category, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_report(alice, micro_a1, category, png_with_garbage_pixels(), name="p.png")
    assert response.status_code == 201, response.content  # the report itself stands
    photo = IncidentPhoto.objects.get()
    assert photo.status == PhotoStatus.REJECTED
    assert "图片文件已损坏或不完整" in photo.error
    assert not photo.image and not photo.thumbnail and not photo.quarantine
    assert files_in(quarantine_storage) == [] and files_in(private_storage) == []

    event = IncidentEvent.objects.get(incident=photo.incident, kind=EventKind.PHOTO_REJECTED)
    assert event.note == "照片未通过检查：" + photo.error and event.data["photo"] == photo.pk
    assert Notification.objects.filter(
        user=alice, key=f"incident:{photo.incident_id}:photo-rejected:{photo.pk}"
    )

    client.force_login(alice)
    assert client.get(reverse("grids:photo", args=[photo.pk])).status_code == 404
    assert client.get(reverse("grids:photo-thumb", args=[photo.pk])).status_code == 404
    page = client.get(reverse("grids:incident-detail", args=[photo.incident_id])).content.decode()
    assert "照片未通过检查" in page


@pytest.mark.parametrize("content", [jpeg_bytes((320, 240)), png_with_garbage_pixels()], ids=["good", "bad"])
def test_running_the_task_twice_changes_nothing(
    alice, micro_a1, category, content, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_report(alice, micro_a1, category, content)
    photo = IncidentPhoto.objects.get()
    before = (photo.status, photo.image.name, photo.thumbnail.name, photo.processed_at, photo.error)
    events = IncidentEvent.objects.count()
    files = sorted(files_in(private_storage))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.incident_photo_process(photo_id=photo.pk) == before[0]
    photo.refresh_from_db()
    assert (photo.status, photo.image.name, photo.thumbnail.name, photo.processed_at, photo.error) == before
    assert IncidentEvent.objects.count() == events and sorted(files_in(private_storage)) == files


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_the_same_task_at_once_clean_the_photo_once(alice, micro_a1, category):
    ensure_reference_data()
    post_report(alice, micro_a1, category, jpeg_bytes((640, 480)))  # eager task already ran on commit
    photo = IncidentPhoto.objects.get()
    IncidentPhoto.objects.filter(pk=photo.pk).update(status=PhotoStatus.PROCESSING, image="", thumbnail="")
    quarantine_storage.save(
        photo.quarantine.field.generate_filename(photo, "p.jpg"), io.BytesIO(jpeg_bytes())
    )
    name = files_in(quarantine_storage)[0].relative_to(quarantine_storage.location).as_posix()
    IncidentPhoto.objects.filter(pk=photo.pk).update(quarantine=name)
    outcomes = []

    def deliver():
        try:
            outcomes.append(services.incident_photo_process(photo_id=photo.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["ready", "ready"]
    photo.refresh_from_db()
    assert photo.status == PhotoStatus.READY
    assert files_in(quarantine_storage) == []
    assert IncidentEvent.objects.filter(kind=EventKind.PHOTO_REJECTED).count() == 0


def test_a_photo_whose_task_was_lost_is_sent_again_by_the_sweep(
    alice, micro_a1, category, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the broker lost the message
        post_report(alice, micro_a1, category, jpeg_bytes())
    photo = IncidentPhoto.objects.get()
    assert services.photos_resend_stuck() == 0  # a fresh upload is not stuck yet
    IncidentPhoto.objects.filter(pk=photo.pk).update(uploaded_at=timezone.now() - timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.photos_resend_stuck() == 1
    photo.refresh_from_db()
    assert photo.status == PhotoStatus.READY


def test_a_resolve_with_an_after_photo_goes_the_same_way(
    report, carol, hank, zjj_category, django_capture_on_commit_callbacks
):
    inc = report(category=zjj_category)
    inc = services.incident_accept(actor=carol, incident=inc, tier="department")
    inc = services.incident_dispatch(actor=carol, incident=inc)
    after = SimpleUploadedFile("after.jpg", jpeg_bytes((200, 150)), content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_resolve(actor=hank, incident=inc, result="已修复", photos=[after])
    photo = IncidentPhoto.objects.get(incident=inc)
    assert photo.kind == "after" and photo.status == PhotoStatus.READY and photo.width == 200


def test_a_report_with_a_photo_costs_thirteen_queries_in_the_request(
    alice, carol, micro_a1, category, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from qionglai.users.models import User

    user = User.objects.get(pk=alice.pk)  # grants are cached per user object: start cold
    photo = SimpleUploadedFile("p.jpg", jpeg_bytes((640, 480)), content_type="image/jpeg")
    data = {
        "category": category.code,
        "description": "x",
        "lat": "30.4111",
        "lng": "103.4611",
        "photos": [photo],
    }
    # category (1), boundary with its grid and community (1), the reporter's grants (1), wartime
    # check (1), SLA policy (1), savepoint + release (2, a test artefact of the outer
    # transaction), incident, REPORT event, audit row and one INSERT for all photos (4), who is
    # told (roster ∪ community staff, one UNION) and their owed notices (one INSERT) (2). The
    # response is built from the objects in hand; delivery and re-encoding run after commit.
    with django_capture_on_commit_callbacks(execute=False), django_assert_num_queries(13):
        response = api_as(user).post(URL, data, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["micro_grid_name"] == micro_a1.name
    assert response.json()["community_name"] == micro_a1.community.name
    assert Incident.objects.get().photos.get().status == PhotoStatus.PROCESSING


def test_a_camera_original_is_stored_scaled_to_what_a_handler_needs(report, alice):
    from grids.services.photos import STORED_MAX_SIDE

    big = SimpleUploadedFile("原图.jpg", jpeg_bytes((4000, 3000)), content_type="image/jpeg")
    inc = report(actor=alice, photos=[big])
    photo = inc.photos.get()
    services.incident_photo_process(photo_id=photo.pk)
    photo.refresh_from_db()
    assert photo.status == PhotoStatus.READY
    assert (photo.width, photo.height) == (STORED_MAX_SIDE, STORED_MAX_SIDE * 3 // 4)
    with photo.image.open("rb") as f, Image.open(f) as stored:
        assert stored.size == (STORED_MAX_SIDE, STORED_MAX_SIDE * 3 // 4)
