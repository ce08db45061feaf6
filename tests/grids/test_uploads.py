import io
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from grids.models import Incident, IncidentPhoto
from grids.storage import private_storage, quarantine_storage
from tests.conftest import api_as

from .conftest import gps_exif, jpeg_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def huge_header_png() -> bytes:
    """A valid PNG signature and IHDR claiming 100000 × 100000 pixels, and no real data."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )


def png_bomb() -> bytes:
    """64 megapixels of one colour: a few dozen KB on disk, 64 MB once decoded."""
    out = io.BytesIO()
    Image.new("L", (8000, 8000), 0).save(out, format="PNG")
    return out.getvalue()


BAD_FILES = {
    "truncated.jpg": (lambda: jpeg_bytes((400, 300))[:600], "图片文件已损坏或不完整"),
    "bomb.png": (png_bomb, "图片尺寸过大"),
    "notes.jpg": (lambda: "这不是图片，只是一个文本文件".encode() * 20, "无法识别为图片"),
    "huge.png": (huge_header_png, "图片尺寸过大"),
    "empty.jpg": (lambda: b"", "文件为空"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_photo_refuses_the_report_and_stores_nothing(alice, micro_a1, category, name):
    make, message = BAD_FILES[name]
    good = SimpleUploadedFile("ok.jpg", jpeg_bytes(), content_type="image/jpeg")
    bad = SimpleUploadedFile(name, make(), content_type="image/jpeg")
    response = api_as(alice).post(
        URL,
        {
            "category": category.code,
            "urgency": "blue",
            "description": "井盖缺失",
            "micro_grid": micro_a1.pk,
            "photos": [good, bad],
        },
        format="multipart",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert message in body["message"] and message in body["fields"]["photos"][0]
    assert not Incident.objects.exists() and not IncidentPhoto.objects.exists()
    for storage in (private_storage, quarantine_storage):
        root = Path(storage.location)
        assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]


def test_too_many_photos_are_refused(alice, micro_a1, category):
    photos = [SimpleUploadedFile(f"{i}.jpg", jpeg_bytes(), content_type="image/jpeg") for i in range(10)]
    response = api_as(alice).post(
        URL,
        {"category": category.code, "description": "x", "micro_grid": micro_a1.pk, "photos": photos},
        format="multipart",
    )
    assert response.status_code == 400
    assert "photos" in response.json()["fields"]


def test_gps_is_read_for_the_location_then_stripped_from_the_stored_photo(
    alice, micro_a1, micro_a2, category, django_capture_on_commit_callbacks
):
    photo = SimpleUploadedFile(
        "gps.jpg", jpeg_bytes((320, 240), exif=gps_exif(30.4111, 103.4611)), content_type="image/jpeg"
    )
    with django_capture_on_commit_callbacks(execute=True):  # the re-encoding task, eager here
        response = api_as(alice).post(
            URL,
            {"category": category.code, "urgency": "blue", "description": "垃圾堆放", "photos": [photo]},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    inc = Incident.objects.get()
    assert inc.micro_grid == micro_a1  # located from the photo's GPS
    assert abs(float(inc.lat) - 30.4111) < 0.0001 and abs(float(inc.lng) - 103.4611) < 0.0001
    stored = inc.photos.get()
    with stored.image.open("rb") as f:
        image = Image.open(io.BytesIO(f.read()))
        assert not image.getexif().get_ifd(0x8825)  # GPS IFD gone
        assert not image.info.get("exif")
    assert stored.thumbnail.name and stored.width == 320


def test_photos_are_served_only_to_those_who_may_see_the_incident(
    client, alice, bob, rita, micro_a1, category, django_capture_on_commit_callbacks
):
    photo = SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        api_as(alice).post(
            URL,
            {"category": category.code, "description": "x", "micro_grid": micro_a1.pk, "photos": [photo]},
            format="multipart",
        )
    pk = IncidentPhoto.objects.get().pk
    url = reverse("grids:photo", args=[pk])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(bob)
    assert client.get(url).status_code == 404
    client.force_login(rita)  # a resident who neither reported nor follows it
    assert client.get(url).status_code == 404
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert client.get(reverse("grids:photo-thumb", args=[pk])).status_code == 200
