"""Image uploads, done once for the whole platform (design §12).

A file is accepted only when Pillow decodes it as one of the allowed formats, within the
byte and pixel limits (decompression bombs refused); it is then re-encoded, which drops EXIF
and anything hidden after the image data, and a thumbnail is made. GPS is read from EXIF
before it is discarded, so the caller can offer it as the location.
"""

from __future__ import annotations

import io
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

# MPO is the multi-picture JPEG some phone cameras save; its first picture is kept.
ALLOWED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}
THUMBNAIL_SIZE = (320, 320)

MSG_EMPTY = "文件为空，请重新选择照片"
MSG_TOO_LARGE = "照片不能超过 {limit} MB"
MSG_NOT_IMAGE = "无法识别为图片，请上传 JPG、PNG 或 WebP 格式的照片"
MSG_FORMAT = "不支持的图片格式 {fmt}，请上传 JPG、PNG 或 WebP"
MSG_TOO_MANY_PIXELS = "图片尺寸过大（超过 {limit} 万像素），请压缩后再上传"
MSG_BROKEN = "图片文件已损坏或不完整，请重新拍摄或选择"


@dataclass
class CleanImage:
    content: ContentFile
    thumbnail: ContentFile
    width: int
    height: int
    gps: tuple[Decimal, Decimal] | None  # (lat, lng) read from EXIF before it was stripped


def _to_degrees(value) -> float:
    d, m, s = (float(x) for x in value)
    return d + m / 60 + s / 3600


def _read_gps(image: Image.Image) -> tuple[Decimal, Decimal] | None:
    try:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:
        return None
    try:
        lat = _to_degrees(gps[2])
        lng = _to_degrees(gps[4])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if gps.get(1) == "S":
        lat = -lat
    if gps.get(3) == "W":
        lng = -lng
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return Decimal(f"{lat:.6f}"), Decimal(f"{lng:.6f}")


def _read_upload(upload, field: str) -> bytes:
    max_bytes = settings.UPLOAD_MAX_IMAGE_BYTES
    size = getattr(upload, "size", None)
    if not size:
        raise ValidationError({field: MSG_EMPTY})
    if size > max_bytes:
        raise ValidationError({field: MSG_TOO_LARGE.format(limit=max_bytes // (1024 * 1024))})
    upload.seek(0)
    return upload.read()


@contextmanager
def _decoding(field: str):
    """Pillow's failures on untrusted bytes, as the ValidationErrors callers show."""
    limit = settings.UPLOAD_MAX_IMAGE_PIXELS // 10000
    try:
        with warnings.catch_warnings():
            # Pillow warns between MAX_IMAGE_PIXELS and twice that; treat the warning as an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError({field: MSG_TOO_MANY_PIXELS.format(limit=limit)}) from None
    except UnidentifiedImageError:
        raise ValidationError({field: MSG_NOT_IMAGE}) from None
    except Exception:
        # OSError, SyntaxError, EOFError are what Pillow means to raise on bad data; hostile
        # files find others (struct.error, IndexError, ...). Any of them is a broken file, not a 500.
        raise ValidationError({field: MSG_BROKEN}) from None


def _open_checked(raw: bytes, field: str) -> Image.Image:
    """Opens the bytes (header only) and refuses a format or a pixel count we do not take.
    Call inside `_decoding`."""
    image = Image.open(io.BytesIO(raw))
    if image.format not in ALLOWED_FORMATS:
        raise ValidationError({field: MSG_FORMAT.format(fmt=image.format or "未知")})
    width, height = image.size
    if width * height > settings.UPLOAD_MAX_IMAGE_PIXELS:
        raise ValidationError(
            {field: MSG_TOO_MANY_PIXELS.format(limit=settings.UPLOAD_MAX_IMAGE_PIXELS // 10000)}
        )
    return image


def clean_image(upload, *, field: str = "photo", max_side: int | None = None) -> CleanImage:
    """Validate and re-encode an uploaded image. Raises ValidationError keyed by `field`.

    With `max_side`, a larger image is stored scaled down to it; a JPEG is then decoded at a
    reduced DCT scale (libjpeg's draft mode), which still reads all of its entropy-coded data,
    so a truncated file fails as before, at a fraction of the cost of a full decode."""
    raw = _read_upload(upload, field)
    with _decoding(field):
        _open_checked(raw, field).verify()  # structure check; the object is unusable afterwards
        image = Image.open(io.BytesIO(raw))
        if max_side and image.format in ("JPEG", "MPO") and max(image.size) > max_side:
            image.draft("RGB", (max_side, max_side))  # the smallest scale still ≥ max_side
        # Full decode first: truncated or garbled pixel data fails here. (Reading EXIF first
        # made Pillow decode a PNG while _read_gps swallowed the error, after which the broken
        # image counted as loaded and passed.)
        image.load()
        gps = _read_gps(image)

    # keep the photo upright once EXIF is gone; in place, because the image is ours alone and
    # the default copies the whole decoded photo even when there is nothing to turn
    ImageOps.exif_transpose(image, in_place=True)
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side))
    has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    out = io.BytesIO()
    if has_alpha:
        image.convert("RGBA").save(out, format="PNG")
        ext = "png"
    else:
        # converting an RGB image copies it: skipped for the common case, a JPEG photo
        image = image if image.mode == "RGB" else image.convert("RGB")
        image.save(out, format="JPEG", quality=85)
        ext = "jpg"
    # From the image already decoded, without copying it first: resize() returns a new image.
    # reduce() (a box average) by the whole factor first, then bilinear for what remains: for a
    # phone photo (1,280 px → 320) the box average alone makes the thumbnail, at a third of the
    # cost of bicubic; a thumbnail is a preview, not the evidence (the photo is)
    thumb = image if image.mode == "RGB" else image.convert("RGB")
    scale = min(THUMBNAIL_SIZE[0] / thumb.width, THUMBNAIL_SIZE[1] / thumb.height)
    if scale < 1:
        size = (max(1, round(thumb.width * scale)), max(1, round(thumb.height * scale)))
        thumb = thumb.resize(size, Image.Resampling.BILINEAR, reducing_gap=1.0)
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="JPEG", quality=80)
    return CleanImage(
        content=ContentFile(out.getvalue(), name=f"{field}.{ext}"),
        thumbnail=ContentFile(thumb_out.getvalue(), name=f"{field}_thumb.jpg"),
        width=image.width,
        height=image.height,
        gps=gps,
    )


@dataclass
class InspectedImage:
    """An upload that passed the cheap checks. `raw` is still the untrusted original: store it
    only where nothing serves it, until clean_image has re-encoded it."""

    raw: bytes
    format: str
    width: int
    height: int
    gps: tuple[Decimal, Decimal] | None


def inspect_image(upload, *, field: str = "photo") -> InspectedImage:
    """The cheap half of clean_image, for callers that re-encode later (grids, in a task).

    Refuses, with clean_image's messages, what clean_image refuses for bytes, format, pixel
    count and decompression bombs (the header alone decides those), and proves that the file
    decodes: a JPEG is decoded at 1/8 scale with draft(), which still reads all of its entropy-
    coded data, so a truncated photo fails here; PNG and WebP get Pillow's structural verify().
    GPS is read from EXIF here, because the caller places the report before re-encoding.
    """
    raw = _read_upload(upload, field)
    with _decoding(field):
        image = _open_checked(raw, field)
        fmt, (width, height) = image.format, image.size
        if fmt in ("JPEG", "MPO"):
            gps = _read_gps(image)
            image.draft(None, (max(1, width // 8), max(1, height // 8)))
            image.load()
        else:
            image.verify()  # must come straight after open: reading EXIF first breaks it
            image = Image.open(io.BytesIO(raw))
            # Pillow looks for a PNG's EXIF by decoding the whole image unless an eXIf chunk
            # came before the pixel data; only that early one is read here
            gps = None if fmt == "PNG" and "exif" not in image.info else _read_gps(image)
    return InspectedImage(raw=raw, format=fmt, width=width, height=height, gps=gps)


def clean_inspected_image(raw: bytes, *, field: str = "photo", max_side: int | None = None) -> CleanImage:
    """clean_image for bytes that inspect_image passed earlier (run later, in a task)."""
    return clean_image(ContentFile(raw), field=field, max_side=max_side)
