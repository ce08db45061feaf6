"""Uploaded files: random stored names, and one way to send a file after the caller's view has
checked who may see it (design §12: MEDIA_ROOT is never served directly)."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.deconstruct import deconstructible


@deconstructible
class RandomName:
    """upload_to giving `prefix/YYYY/MM/<32 hex>.<ext>`: nobody guesses the next file's name."""

    def __init__(self, prefix: str):
        self.prefix = prefix.strip("/")

    def __call__(self, instance, filename: str) -> str:
        ext = PurePosixPath(filename or "").suffix.lower()[:8] or ".jpg"
        return f"{self.prefix}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{ext}"

    def __eq__(self, other) -> bool:
        return isinstance(other, RandomName) and other.prefix == self.prefix


def send_file(field) -> FileResponse:
    """The stored image behind `field`, private to the browser. Pre: the view checked access."""
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    content_type = "image/png" if field.name.endswith(".png") else "image/jpeg"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
