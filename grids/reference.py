"""Reference data grids ships with (seeded by a data migration, editable in the admin):
the two-level category list of design §4 with each category's default responsible department
(codes from projects.reference.DEPARTMENTS), default SLA policies, and the public-holiday
calendar with adjusted working days (调休) as published by the State Council."""

from datetime import date, timedelta

# (code, name, department code or "", [(sub code, sub name, department code or "" = parent's)])
CATEGORIES = [
    (
        "01",
        "矛盾纠纷",
        "sfj",
        [
            ("0101", "邻里纠纷", ""),
            ("0102", "家庭纠纷", ""),
            ("0103", "物业纠纷", "zjj"),
            ("0104", "劳资纠纷", "rsj"),
            ("0105", "土地山林纠纷", "zrzyj"),
        ],
    ),
    (
        "02",
        "安全隐患",
        "yjglj",
        [
            ("0201", "消防隐患", ""),
            ("0202", "燃气隐患", ""),
            ("0203", "电动车违规充电", "gaj"),
            ("0204", "房屋安全", "zjj"),
            ("0205", "地质灾害隐患", "zrzyj"),
        ],
    ),
    (
        "03",
        "社会治安",
        "gaj",
        [
            ("0301", "可疑人员物品", ""),
            ("0302", "治安案件线索", ""),
            ("0303", "涉黄涉赌", ""),
            ("0304", "电信诈骗", ""),
        ],
    ),
    (
        "04",
        "环境卫生",
        "cgj",
        [
            ("0401", "垃圾乱堆乱放", ""),
            ("0402", "污水外溢", "swj"),
            ("0403", "噪声扰民", "sthjj"),
            ("0404", "油烟扰民", "sthjj"),
            ("0405", "公厕卫生", ""),
        ],
    ),
    (
        "05",
        "市政设施",
        "zjj",
        [
            ("0501", "道路破损", "jtysj"),
            ("0502", "路灯损坏", "cgj"),
            ("0503", "井盖缺失破损", "swj"),
            ("0504", "供水管网", "swj"),
            ("0505", "供电故障", "gdj"),
        ],
    ),
    (
        "06",
        "街面秩序",
        "cgj",
        [
            ("0601", "占道经营", ""),
            ("0602", "乱停乱放", "gaj"),
            ("0603", "违规户外广告", ""),
            ("0604", "流动摊贩", ""),
        ],
    ),
    (
        "07",
        "施工管理",
        "zjj",
        [
            ("0701", "违规施工", ""),
            ("0702", "扬尘污染", "sthjj"),
            ("0703", "夜间施工扰民", "sthjj"),
            ("0704", "违法建设", "zrzyj"),
        ],
    ),
    (
        "08",
        "民生服务",
        "mzj",
        [
            ("0801", "社保就业", "rsj"),
            ("0802", "救助帮扶", ""),
            ("0803", "医疗卫生", "wjj"),
            ("0804", "食品安全", "scjgj"),
        ],
    ),
    (
        "09",
        "特殊人群关爱",
        "mzj",
        [
            ("0901", "独居老人", ""),
            ("0902", "留守儿童", ""),
            ("0903", "残疾人", ""),
            ("0904", "重点关注人员", "gaj"),
        ],
    ),
    (
        "10",
        "物业小区",
        "zjj",
        [
            ("1001", "物业服务", ""),
            ("1002", "公共设施维修", ""),
            ("1003", "电梯故障", "scjgj"),
            ("1004", "小区停车", ""),
        ],
    ),
    (
        "11",
        "突发事件",
        "yjglj",
        [
            ("1101", "火灾", ""),
            ("1102", "洪涝", "swj"),
            ("1103", "交通事故", "gaj"),
            ("1104", "公共卫生事件", "wjj"),
        ],
    ),
    ("12", "其他", "", [("1201", "其他事项", "")]),
]

# (urgency, mode, accept (amount, unit), resolve, verify, evaluation, max_extensions)
SLA_DEFAULTS = [
    ("red", "peace", ("0.5", "hours"), ("2", "hours"), ("4", "hours"), ("3", "days"), 0),
    ("orange", "peace", ("2", "hours"), ("24", "hours"), ("8", "hours"), ("3", "days"), 1),
    ("yellow", "peace", ("4", "hours"), ("3", "workdays"), ("1", "workdays"), ("3", "days"), 1),
    ("blue", "peace", ("8", "hours"), ("7", "workdays"), ("1", "workdays"), ("3", "days"), 2),
    # 战时: every deadline shorter, counted in clock hours (emergencies do not wait for Monday)
    ("red", "war", ("0.25", "hours"), ("1", "hours"), ("2", "hours"), ("3", "days"), 0),
    ("orange", "war", ("1", "hours"), ("12", "hours"), ("4", "hours"), ("3", "days"), 0),
    ("yellow", "war", ("2", "hours"), ("24", "hours"), ("8", "hours"), ("3", "days"), 1),
    ("blue", "war", ("4", "hours"), ("72", "hours"), ("12", "hours"), ("3", "days"), 1),
]


def _span(start: date, end: date):
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


HOLIDAYS = [
    # 2025 (国办发明电〔2024〕12号)
    ("元旦", date(2025, 1, 1), date(2025, 1, 1), []),
    ("春节", date(2025, 1, 28), date(2025, 2, 4), [date(2025, 1, 26), date(2025, 2, 8)]),
    ("清明节", date(2025, 4, 4), date(2025, 4, 6), []),
    ("劳动节", date(2025, 5, 1), date(2025, 5, 5), [date(2025, 4, 27)]),
    ("端午节", date(2025, 5, 31), date(2025, 6, 2), []),
    ("国庆节、中秋节", date(2025, 10, 1), date(2025, 10, 8), [date(2025, 9, 28), date(2025, 10, 11)]),
    # 2026 (国办发明电〔2025〕7号)
    ("元旦", date(2026, 1, 1), date(2026, 1, 3), [date(2026, 1, 4)]),
    ("春节", date(2026, 2, 15), date(2026, 2, 23), [date(2026, 2, 14), date(2026, 2, 28)]),
    ("清明节", date(2026, 4, 4), date(2026, 4, 6), []),
    ("劳动节", date(2026, 5, 1), date(2026, 5, 5), [date(2026, 5, 9)]),
    ("端午节", date(2026, 6, 19), date(2026, 6, 21), []),
    ("中秋节", date(2026, 9, 25), date(2026, 9, 27), []),
    ("国庆节", date(2026, 10, 1), date(2026, 10, 7), [date(2026, 9, 20), date(2026, 10, 10)]),
]


def calendar_days():
    """(date, kind, name) for every listed holiday and adjusted working day."""
    for name, start, end, workdays in HOLIDAYS:
        for d in _span(start, end):
            yield d, "holiday", name
        for d in workdays:
            yield d, "workday", f"{name}调休上班"
