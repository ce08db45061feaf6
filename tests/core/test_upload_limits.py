"""The pixel limit keeps one upload's decode small (issue #12 §5: a 105 KB PNG of 36 Mpx cost
~280 MB to decode at the old 40 Mpx limit)."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from qionglai.core.images import MSG_TOO_MANY_PIXELS, clean_image, inspect_image


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")  # a 1-bit image: tiny to build, big to decode
    return out.getvalue()


@pytest.fixture(scope="module")
def near_old_limit():
    return png(6000, 6000)  # 36 Mpx, a ~100 KB file


def test_the_default_pixel_limit_is_at_most_24_megapixels(settings):
    assert settings.UPLOAD_MAX_IMAGE_PIXELS <= 24_000_000


@pytest.mark.parametrize("check", [clean_image, inspect_image], ids=["clean", "inspect"])
def test_a_36_megapixel_png_is_refused_before_it_is_decoded(near_old_limit, check, settings):
    upload = SimpleUploadedFile("big.png", near_old_limit, content_type="image/png")
    with pytest.raises(ValidationError) as error:
        check(upload, field="photo")
    limit = settings.UPLOAD_MAX_IMAGE_PIXELS // 10000
    assert error.value.message_dict == {"photo": [MSG_TOO_MANY_PIXELS.format(limit=limit)]}


PROBE = """
import io, resource, sys
import django
django.setup()
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
side = int(settings.UPLOAD_MAX_IMAGE_PIXELS ** 0.5) - 1
buffer = io.BytesIO()
Image.new("RGB", (side, side), (200, 30, 30)).save(buffer, "PNG")
raw = buffer.getvalue()
del buffer
from qionglai.core.images import clean_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
clean_image(SimpleUploadedFile("x.png", raw, content_type="image/png"), field="image")
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_near_limit_png_costs_under_150_mb_to_clean():
    """Peak memory of one upload at the limit, measured in a fresh process (the high-water mark
    of this one says nothing). Building the test image raises the mark first, so the figure is
    a lower bound of the decode's own cost; measured ~126 MB at 16 Mpx, ~279 MB at 36 Mpx."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "qionglai.settings", "PYTHONPATH": str(settings.BASE_DIR)}
    env.pop("UPLOAD_MAX_IMAGE_PIXELS", None)
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    assert int(out.stdout.strip().splitlines()[-1]) < 150
