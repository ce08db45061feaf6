"""The shipped 九步议事 template (design §1), marked 「默认模板」 until the city's own text
replaces it. Seeded by a data migration; the city edits it in the admin as data."""

from decimal import Decimal

DEFAULT_FAMILY = "default"
DEFAULT_NAME = "邻聚小圆桌九步议事规则"
DEFAULT_NOTE = "默认模板：按设计文档的九步议事解读拟定，待市委社治委正式文本替换"

# (order, code, kind, name, actor_role, actor_label, required_records, min_days, description)
DEFAULT_STEPS = [
    (
        1,
        "propose",
        "propose",
        "提议",
        "resident",
        "居民、党员、网格员",
        [],
        0,
        "收集议题：居民提议、小区问题清单、网格事件或工作人员提出",
    ),
    (
        2,
        "review",
        "review",
        "审议",
        "community_staff",
        "社区党组织",
        [],
        0,
        "审查议题范围与合法性：通过、合并、驳回或转为网格事件",
    ),
    (
        3,
        "notice",
        "notice",
        "公示议题",
        "community_staff",
        "社区两委",
        [],
        5,
        "公示议题并邀请参会人员，公示期不少于 5 天",
    ),
    (
        4,
        "deliberate",
        "deliberate",
        "协商",
        "community_staff",
        "小圆桌会议",
        ["sign_in"],
        0,
        "召开小圆桌会议：签到、发言、提出方案",
    ),
    (
        5,
        "vote",
        "vote",
        "表决",
        "community_staff",
        "参会人员",
        ["vote_record", "minutes"],
        0,
        "按法定人数与通过规则表决，形成会议纪要",
    ),
    (
        6,
        "resolution_notice",
        "resolution_notice",
        "决议公示",
        "community_staff",
        "社区两委",
        [],
        5,
        "公示决议，公示期内可提出异议",
    ),
    (
        7,
        "implement",
        "implement",
        "实施",
        "community_staff",
        "实施负责人",
        [],
        0,
        "明确负责人、预算与期限，落实更新项目或微基金资助",
    ),
    (8, "supervise", "supervise", "监督", "resident", "居民监督员", [], 0, "居民监督员记录实施进展"),
    (9, "evaluate", "evaluate", "评议", "resident", "参与居民", [], 0, "参与者评价实施效果，办结或重新实施"),
]
DEFAULT_QUORUM = (Decimal("0.5"), True)  # more than half of those invited are present
DEFAULT_PASS = ("present", Decimal("0.5"), True)  # more than half of those present vote for


def seed_default_template(template_model, step_model, city_path: str):
    """Creates the default template once (used by the data migration with historical models,
    and by tests after a transactional test has flushed the tables)."""
    template, created = template_model.objects.get_or_create(
        family=DEFAULT_FAMILY,
        version=1,
        defaults={
            "name": DEFAULT_NAME,
            "note": DEFAULT_NOTE,
            "path": city_path,
            "is_default": True,
            "is_current": True,
        },
    )
    if created:
        step_model.objects.bulk_create(
            step_model(
                template=template,
                order=order,
                code=code,
                kind=kind,
                name=name,
                actor_role=role,
                actor_label=label,
                required_records=records,
                min_days=days,
                description=description,
            )
            for order, code, kind, name, role, label, records, days, description in DEFAULT_STEPS
        )
    return template
