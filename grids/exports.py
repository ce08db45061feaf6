"""The incident list as a file: exactly what the list's filters select, for the staff who may
see it. XLSX up to XLSX_MAX rows (openpyxl's write-only mode), a streamed CSV beyond (or when
asked). No personal data: no reporter, phone, address, coordinates or evaluation comment, and
long digit runs in the description (phone or ID numbers typed by residents) are masked. A cell
starting with = + - @ (or a tab / carriage return) is prefixed with ' so a spreadsheet never
runs it as a formula."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleLessThan
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from .models import Channel, Level, Satisfaction, Status, Tier, Urgency

XLSX_MAX = 100_000
CHUNK = 2_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DIGITS = re.compile(r"\d{7,}")

HEADER = [
    "编号",
    "上报时间",
    "镇街",
    "社区",
    "网格",
    "类别",
    "紧急程度",
    "状态",
    "处置层级",
    "承办部门",
    "当前层级",
    "督办",
    "来源渠道",
    "当前时限",
    "已超时",
    "按时受理",
    "按时办结",
    "满意度",
    "附议人数",
    "事件描述",
]
FIELDS = (
    "id",
    "created_at",
    "community__town__name",
    "community__name",
    "micro_grid__name",
    "category__name",
    "urgency",
    "status",
    "tier",
    "assigned_department__name",
    "level",
    "supervised",
    "channel",
    "due_at",
    "accepted_on_time",
    "resolved_on_time",
    "satisfaction",
    "me_too_count",
    "description",
)
LABELS = {
    "urgency": dict(Urgency.choices),
    "status": dict(Status.choices),
    "tier": dict(Tier.choices),
    "level": dict(Level.choices),
    "channel": dict(Channel.choices),
    "satisfaction": dict(Satisfaction.choices),
}
OPEN = set(Status.values) - {Status.CLOSED, Status.REJECTED}


def safe(value) -> str | int:
    """A cell a spreadsheet shows as text, never evaluates."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _yes(value) -> str:
    return "" if value is None else ("是" if value else "否")


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def rows(queryset: QuerySet, *, now=None) -> Iterator[list]:
    """Every selected incident, newest first, fetched in keyset chunks (no OFFSET, no cursor
    held across the response)."""
    now = now or timezone.now()
    qs = queryset.order_by("-created_at", "-id").values_list(*FIELDS)
    position = None
    while True:
        chunk = (
            qs if position is None else qs.filter(TupleLessThan(Tuple(F("created_at"), F("id")), position))
        )
        batch = list(chunk[:CHUNK])
        for r in batch:
            d = dict(zip(FIELDS, r, strict=True))
            overdue = d["status"] in OPEN and d["due_at"] is not None and d["due_at"] < now
            yield [
                safe(v)
                for v in (
                    d["id"],
                    _local(d["created_at"]),
                    d["community__town__name"],
                    d["community__name"],
                    d["micro_grid__name"] or "",
                    d["category__name"],
                    LABELS["urgency"].get(d["urgency"], d["urgency"]),
                    LABELS["status"].get(d["status"], d["status"]),
                    LABELS["tier"].get(d["tier"], ""),
                    d["assigned_department__name"] or "",
                    LABELS["level"].get(d["level"], ""),
                    _yes(d["supervised"]),
                    LABELS["channel"].get(d["channel"], d["channel"]),
                    _local(d["due_at"]),
                    "是" if overdue else "",
                    _yes(d["accepted_on_time"]),
                    _yes(d["resolved_on_time"]),
                    LABELS["satisfaction"].get(d["satisfaction"], ""),
                    d["me_too_count"],
                    DIGITS.sub(lambda m: m.group()[:3] + "****", d["description"]),
                )
            ]
        if len(batch) < CHUNK:
            return
        position = (batch[-1][1], batch[-1][0])


def _filename(ext: str) -> str:
    return f"incidents-{timezone.localtime():%Y%m%d-%H%M}.{ext}"


class _Echo:
    def write(self, value):
        return value


def csv_response(queryset: QuerySet) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"  # so Excel opens the UTF-8 file with its Chinese intact
        yield writer.writerow(HEADER)
        for row in rows(queryset):
            yield writer.writerow(row)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
    return response


def xlsx_response(queryset: QuerySet) -> HttpResponse:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("事件")
    sheet.append(HEADER)
    for row in rows(queryset):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename("xlsx")}"'
    return response


def export_response(queryset: QuerySet, *, fmt: str = "xlsx") -> HttpResponse | StreamingHttpResponse:
    """XLSX when asked and the selection fits (counted up to XLSX_MAX + 1), else streamed CSV."""
    if fmt == "csv":
        return csv_response(queryset)
    if queryset.order_by().values("pk")[: XLSX_MAX + 1].count() > XLSX_MAX:
        return csv_response(queryset)
    return xlsx_response(queryset)
