"""clean_image, which every upload in the platform goes through (consultation's meeting photos
and 公示照片, points, and grids' photo task)."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from qionglai.core.images import MSG_BROKEN, clean_image
from tests.grids.test_photo_processing import png_with_garbage_pixels


def _upload(content: bytes, name="x.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def test_a_png_with_garbled_pixel_data_is_refused():
    with pytest.raises(ValidationError) as error:
        clean_image(_upload(png_with_garbage_pixels()), field="image")
    assert error.value.message_dict == {"image": [MSG_BROKEN]}


def test_a_good_png_keeps_its_transparency_and_gets_a_thumbnail():
    buffer = io.BytesIO()
    Image.new("RGBA", (300, 200), (10, 200, 10, 128)).save(buffer, "PNG")
    cleaned = clean_image(_upload(buffer.getvalue()), field="image")
    assert (cleaned.width, cleaned.height) == (300, 200) and cleaned.content.name == "image.png"
    assert Image.open(cleaned.content).mode == "RGBA"
    assert Image.open(cleaned.thumbnail).format == "JPEG"


def test_a_phone_cameras_mpo_photo_is_accepted_as_its_first_picture():
    first, second = Image.new("RGB", (200, 100), (255, 0, 0)), Image.new("RGB", (200, 100), (0, 0, 255))
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    cleaned = clean_image(_upload(buffer.getvalue(), name="photo.jpg"), field="image")
    stored = Image.open(cleaned.content)
    assert stored.format == "JPEG" and stored.size == (200, 100)
    assert stored.getpixel((100, 50))[0] > 200  # red: the first picture
