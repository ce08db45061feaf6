"""Excel import/export of towns, communities and compounds (design §7).

Import is all-or-nothing per file: every row is validated through the same services the
pages use (permission, validation, audit); if any row fails, the whole file is rolled back
and the report lists each bad row by its Excel row number and reason. Rows are matched by
code, so re-importing a corrected file updates instead of duplicating.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from qionglai.core.errors import ApplicationError

from . import selectors, services
from .models import (
    Community,
    CommunityClass,
    CommunityKind,
    Compound,
    CompoundKind,
    GovernanceMode,
    Town,
    TownKind,
)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
YES = {"是", "Y", "y", "yes", "1", "TRUE", "true", "√"}
NO = {"否", "N", "n", "no", "0", "FALSE", "false", "", None}

MSG_NOT_XLSX = "不是有效的 Excel（.xlsx）文件"
MSG_TOO_BIG = "文件超过 5 MB，请拆分后导入"
MSG_TOO_MANY_ROWS = f"行数超过 {MAX_ROWS}，请拆分后导入"
MSG_HEADER = "表头应为：{expected}"
MSG_EMPTY = "文件中没有数据行"

SEP = " › "  # between a parent's name and its own, as pages show places

SHEETS: dict[str, list[str]] = {
    "towns": ["编码", "名称", "类型"],
    "communities": [
        "镇街编码",
        "编码",
        "名称",
        "类型",
        "社区分类",
        "示范社区",
        "未来公园社区",
        "户数",
        "人口",
    ],
    "compounds": [
        "所属社区",
        "编码",
        "名称",
        "类型",
        "治理模式",
        "物业企业",
        "户数",
        "已改造",
        "智慧小区",
    ],
}


@dataclass
class RowError:
    row: int
    message: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _label_lookup(choices) -> dict[str, str]:
    out = {}
    for value, label in choices:
        out[str(label)] = value
        out[str(value)] = value
    return out


def _bool(value, column: str) -> bool:
    text = str(value).strip() if value is not None else ""
    if text in YES:
        return True
    if text in NO or value is None:
        return False
    raise ValidationError({column: f"「{column}」应填写 是 或 否"})


def _int(value, column: str) -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(float(str(value).strip()))
    except ValueError:
        raise ValidationError({column: f"「{column}」应为整数"}) from None
    if number < 0:
        raise ValidationError({column: f"「{column}」不能为负数"})
    return number


def _choice(value, lookup: dict[str, str], column: str, required: bool = True) -> str:
    text = str(value).strip() if value is not None else ""
    if not text and not required:
        return ""
    if text not in lookup:
        options = "、".join(sorted({k for k in lookup if not k.isascii()}))
        raise ValidationError({column: f"「{column}」无效：{text or '（空）'}，可选：{options}"})
    return lookup[text]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _messages(error: Exception) -> str:
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            parts = []
            for name, errs in error.error_dict.items():
                for e in errs:
                    for m in e.messages:
                        parts.append(m if name == "__all__" or name in m else f"{name}：{m}")
            return "；".join(parts)
        return "；".join(error.messages)
    if isinstance(error, (ApplicationError, PermissionDenied)):
        return getattr(error, "message", None) or str(error) or "无权限导入该行"
    return str(error)


def _import_town(actor, row, report):
    code, name, kind = (
        _text(row[0]).lower(),
        _text(row[1]),
        _choice(row[2], _label_lookup(TownKind.choices), "类型"),
    )
    town = Town.objects.filter(code=code).first()
    if town is None:
        services.town_create(actor=actor, code=code, name=name, kind=kind)
        report.created += 1
    else:
        services.town_update(actor=actor, town=town, name=name, kind=kind)
        report.updated += 1


def _import_community(actor, row, report, classes):
    town_code = _text(row[0]).lower()
    town = Town.objects.filter(code=town_code).first()
    if town is None:
        raise ValidationError({"镇街编码": f"镇街编码 {town_code or '（空）'} 不存在"})
    code = _text(row[1]).lower()
    class_label = _text(row[4])
    community_class = None
    if class_label:
        community_class = classes.get(class_label)
        if community_class is None:
            raise ValidationError({"社区分类": f"社区分类 {class_label} 不存在"})
    fields = {
        "name": _text(row[2]),
        "kind": _choice(row[3], _label_lookup(CommunityKind.choices), "类型"),
        "community_class": community_class,
        "is_demonstration": _bool(row[5], "示范社区"),
        "is_future_park": _bool(row[6], "未来公园社区"),
        "households": _int(row[7], "户数"),
        "population": _int(row[8], "人口"),
    }
    existing = Community.objects.filter(town=town, code=code).first()
    if existing is None:
        services.community_create(actor=actor, town=town, code=code, **fields)
        report.created += 1
    else:
        services.community_update(actor=actor, community=existing, **fields)
        report.updated += 1


def _community_named(label: str) -> Community | None:
    """「镇街 › 社区」 as the export writes it (names, which people read), or a community path
    (what earlier exports and the API use)."""
    if SEP.strip() in label:
        town_name, _, community_name = (part.strip() for part in label.partition(SEP.strip()))
        found = list(Community.objects.filter(town__name=town_name, name=community_name)[:2])
        return found[0] if len(found) == 1 else None
    return Community.objects.filter(path=label).first()


def _import_compound(actor, row, report):
    label = _text(row[0])
    community = _community_named(label) if label else None
    if community is None:
        raise ValidationError({"所属社区": f"所属社区 {label or '（空）'} 不存在"})
    code = _text(row[1]).lower()
    fields = {
        "name": _text(row[2]),
        "kind": _choice(row[3], _label_lookup(CompoundKind.choices), "类型"),
        "governance_mode": _choice(row[4], _label_lookup(GovernanceMode.choices), "治理模式", required=False),
        "property_company": _text(row[5]),
        "households": _int(row[6], "户数"),
        "renovated": _bool(row[7], "已改造"),
        "is_smart": _bool(row[8], "智慧小区"),
    }
    existing = Compound.objects.filter(community=community, code=code).first()
    if existing is None:
        services.compound_create(actor=actor, community=community, code=code, **fields)
        report.created += 1
    else:
        services.compound_update(actor=actor, compound=existing, **fields)
        report.updated += 1


def import_workbook(*, actor, kind: str, upload) -> ImportReport:
    report = ImportReport(kind=kind)
    expected = SHEETS[kind]
    if upload.size > MAX_BYTES:
        report.errors.append(RowError(0, MSG_TOO_BIG))
        return report
    try:
        upload.seek(0)
        workbook = load_workbook(io.BytesIO(upload.read()), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        report.errors.append(RowError(0, MSG_NOT_XLSX))
        return report
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [_text(c) for c in (next(rows, None) or [])][: len(expected)]
    if header != expected:
        report.errors.append(RowError(1, MSG_HEADER.format(expected="、".join(expected))))
        return report
    classes = _class_lookup()
    with transaction.atomic():
        for number, raw in enumerate(rows, start=2):
            values = list(raw or ())[: len(expected)]
            if not any(v not in (None, "") for v in values):
                continue
            report.rows += 1
            if report.rows > MAX_ROWS:
                report.errors.append(RowError(number, MSG_TOO_MANY_ROWS))
                break
            values += [None] * (len(expected) - len(values))
            try:
                with transaction.atomic():  # savepoint: a bad row leaves nothing behind
                    if kind == "towns":
                        _import_town(actor, values, report)
                    elif kind == "communities":
                        _import_community(actor, values, report, classes)
                    else:
                        _import_compound(actor, values, report)
            except (ValidationError, ApplicationError, PermissionDenied) as error:
                report.errors.append(RowError(number, _messages(error)))
        if report.rows == 0 and not report.errors:
            report.errors.append(RowError(2, MSG_EMPTY))
        if report.errors:
            report.created = report.updated = 0
            transaction.set_rollback(True)
    workbook.close()
    return report


def _class_label(community_class: CommunityClass) -> str:
    """A class as people read it: 「城镇 › 古城宜居」 (its parent's name, then its own)."""
    parent = community_class.parent
    return f"{parent.name}{SEP}{community_class.name}" if parent else community_class.name


def _class_lookup() -> dict[str, CommunityClass]:
    """Each class by the label the export writes, and by its code (files made by hand or
    before names were exported); a bare name only where it is unambiguous."""
    classes = list(CommunityClass.objects.select_related("parent"))
    lookup: dict[str, CommunityClass] = {}
    names: dict[str, list[CommunityClass]] = {}
    for c in classes:
        names.setdefault(c.name, []).append(c)
    for name, same in names.items():
        if len(same) == 1:
            lookup[name] = same[0]
    for c in classes:
        lookup[_class_label(c)] = c
        lookup[_class_label(c).replace(" ", "")] = c
        lookup[c.code] = c
    return lookup


def export_workbook(*, user, kind: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = {"towns": "镇街", "communities": "村社区", "compounds": "小区院落"}[kind]
    sheet.append(SHEETS[kind])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    yes = lambda b: "是" if b else "否"  # noqa: E731
    if kind == "towns":
        for t in selectors.town_list_for(user=user):
            sheet.append([t.code, t.name, t.get_kind_display()])
    elif kind == "communities":
        for c in selectors.community_list_for(user=user):
            sheet.append(
                [
                    c.town.code,
                    c.code,
                    c.name,
                    c.get_kind_display(),
                    _class_label(c.community_class) if c.community_class_id else "",
                    yes(c.is_demonstration),
                    yes(c.is_future_park),
                    c.households,
                    c.population,
                ]
            )
    else:
        for c in selectors.compound_list_for(user=user):
            sheet.append(
                [
                    f"{c.community.town.name}{SEP}{c.community.name}",
                    c.code,
                    c.name,
                    c.get_kind_display(),
                    c.get_governance_mode_display(),
                    c.property_company,
                    c.households,
                    yes(c.renovated),
                    yes(c.is_smart),
                ]
            )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
