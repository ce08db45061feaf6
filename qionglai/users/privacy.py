"""Masking personal data on public outputs (design §3, §12): Open311, answers naming a person."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

# an 18-character resident ID (last character may be X), then an 11-digit mobile number;
# digits around them must not be part of a longer number
_ID = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])")
_PHONE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
# a landline with area code (028-8888 8888, 02888888888)
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?\d{3,4}[- ]?(\d{2})\d{2}(?!\d)")
# room numbers: 501室, 2单元501, 3-2-501
_ROOM = re.compile(r"(\d+)\s*(单元)\s*\d+\s*(室|号)?|\d+\s*室|(?<!\d)\d+-\d+-\d+(?!\d)")


def mask_text(text: str) -> str:
    """Phone and ID numbers (and room numbers) in free text, replaced by masked forms."""
    if not text:
        return text
    text = _ID.sub(lambda m: m.group(1)[:3] + "*" * 15, text)
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)}**", text)
    text = _ROOM.sub(lambda m: f"{m.group(1)}单元**室" if m.group(2) else "**室", text)
    return text


def mask_name(name: str) -> str:
    """孙珍 → 孙*, 欧阳修远 → 欧**远; a name is never shown whole to a stranger."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name or "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def round_coordinate(value, places: int = 3) -> str | None:
    """3 decimal places ≈ 110 m of latitude: the street, not the door."""
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-places)
    return str(Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP))
