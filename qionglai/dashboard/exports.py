"""Exports of what is on screen, as CSV or XLSX (design §8): cells that a spreadsheet would run
as a formula are neutralised, no personal data leaves (no reporter, phone, ID or exact
address), and the incident list, which can pass 100,000 rows, is streamed as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from urllib.parse import quote

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from grids.models import Incident

from . import breakdowns, indicators
from .report import Screen, incident_row, listed_labels

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
STREAM_ABOVE = 100_000
TABLES = {
    "figures": "指标",
    "ranking": "综合指标排名",
    "overdue": "超期未办结",
    "oldest": "最久未办结",
    "trend": "趋势",
    "categories": "类别",
    "headline": "全市概览",
    "incidents": "事件清单",
    **breakdowns.TITLES,
}
FULL_TABLES = {"headline", *breakdowns.TITLES}  # built only with the whole page (full=True)
INCIDENT_HEADER = ["编号", "类别", "社区", "状态", "紧急程度", "上报时间", "当前时限", "超期（小时）", "环节"]


def neutral(value):
    """A text cell beginning with = + - @ (or a tab/CR) is prefixed with ' so no spreadsheet
    evaluates it; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _incident_cells(row: dict) -> list:
    return [
        row["id"],
        row["category"],
        row["community"],
        row["status"],
        row["urgency"],
        row["reported_at"],
        row["due_at"],
        row["overdue_hours"] if row["overdue_hours"] is not None else "",
        row["stage"],
    ]


def rows(screen: Screen, table: str) -> tuple[list[str], list[list]]:
    now = timezone.now()
    if table == "figures":
        out = [
            [
                c["label"],
                c["value"] if c["value"] is not None else "",
                c["unit"],
                c["mom"],
                c["yoy"],
                c["basis"],
            ]
            for c in screen.compare()
        ]
        return ["指标", "数值", "单位", "环比", "同比", "口径"], out
    if table == "ranking":
        header = [
            "名次",
            "单位",
            "上报数",
            "综合指标",
            *[label for _k, label, _i in indicators.RANKING_PARTS],
        ]
        out = []
        for r in [*screen.ranking.ranked, *screen.ranking.below_minimum]:
            out.append(
                [
                    r.rank if r.rank else "不足最少件数，不排名",
                    r.name,
                    r.reported,
                    r.score if r.score is not None else "",
                    *[
                        r.figures[k].value if r.figures[k].value is not None else ""
                        for k, _l, _i in indicators.RANKING_PARTS
                    ],
                ]
            )
        return header, out
    if table in ("overdue", "oldest"):
        source = screen.overdue if table == "overdue" else screen.oldest
        labels = listed_labels()
        return INCIDENT_HEADER, [_incident_cells(incident_row(i, now, labels)) for i in source]
    if table == "trend":
        return ["时间", "上报数", "办结数", "返工数", "满意率（%）"], [
            [t["label"], t["reported"], t["resolved"], t["reopened"], t["satisfaction_rate"] or ""]
            for t in screen.trend
        ]
    if table == "categories":
        out = []
        for top in screen.categories:
            for child in top["children"]:
                out.append([top["name"], child["name"], child["reported"], child["resolved"]])
        return ["一级类别", "二级类别", "上报数", "办结数"], out
    if table == "headline":
        return ["项目", "数值", "单位"], [[c.label, c.value, c.unit] for c in screen.headline]
    if table in breakdowns.TITLES:
        t = screen.table(table)
        return t.header, t.rows
    raise KeyError(table)


def csv_response(filename: str, header: list[str], body: Iterable[list]) -> HttpResponse:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel opens UTF-8 CSV as Chinese only with the BOM
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in body:
        writer.writerow([neutral(v) for v in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = disposition(filename + ".csv")
    return response


def xlsx_response(filename: str, sheet: str, header: list[str], body: Iterable[list]) -> HttpResponse:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append(header)
    for row in body:
        ws.append([neutral(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = disposition(filename + ".xlsx")
    return response


def disposition(name: str) -> str:
    return f"attachment; filename=\"export.{name.rsplit('.', 1)[-1]}\"; filename*=UTF-8''{quote(name)}"


class _Echo:
    def write(self, value):
        return value


def incident_queryset(screen: Screen):
    lo, hi = screen.period.bounds()
    return (
        Incident.objects.filter(screen.scope.q(), created_at__gte=lo, created_at__lt=hi)
        .select_related("category", "category__parent", "community")
        .order_by("created_at", "id")
    )


def stream_incidents(screen: Screen) -> StreamingHttpResponse:
    """Every incident reported in the scope and period, streamed row by row (constant memory)."""
    now = timezone.now()
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(INCIDENT_HEADER)
        labels = listed_labels()  # as the rows go out (the language active then)
        for inc in incident_queryset(screen).iterator(chunk_size=2000):
            yield writer.writerow([neutral(v) for v in _incident_cells(incident_row(inc, now, labels))])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = disposition(f"{screen.filename}_事件清单.csv")
    return response
