"""The default three lists (正面/负面/禁止清单) and the city-wide expiry scheme (never), until
the city's own lists replace them in the admin. Idempotent; the reverse is a no-op."""

from django.db import migrations

ALL = ["party_member", "worker", "resident"]
PERSONS_AND_ORGS = ["org", "party_member", "worker", "resident"]

# code, list, name, points, unit, classes, cap, evidence, approver, source_event, auto, months, exclude
RULES = [
    ("P01", "positive", "参加志愿服务", 5, "次", ALL, 200, True, "community_staff", "", False, 0, ""),
    ("P02", "positive", "参加邻聚小圆桌议事", 3, "次", ALL, None, False, "community_staff", "consultation.attended", True, 0, ""),
    ("P03", "positive", "在议事会上发言建言", 2, "次", ALL, None, False, "community_staff", "consultation.spoke", True, 0, ""),
    ("P04", "positive", "担任议事监督员履职", 3, "次", ALL, None, False, "community_staff", "consultation.supervised", True, 0, ""),
    ("P05", "positive", "随手拍上报事件经核查属实", 5, "件", ALL, 100, False, "community_staff", "incident_verified.reporter", True, 0, ""),
    ("P06", "positive", "党员参与网格事件处置", 5, "件", ["party_member"], None, False, "community_staff", "incident_verified.party_member", True, 0, ""),
    ("P07", "positive", "垃圾分类、庭院整洁示范户", 10, "月", ["resident"], 120, True, "community_staff", "", False, 0, ""),
    ("P08", "positive", "见义勇为、助人为乐", 50, "次", ALL, None, True, "town_staff", "", False, 0, ""),
    ("P09", "positive", "党员“双报到”进社区服务", 10, "次", ["party_member"], 240, False, "community_staff", "", False, 0, ""),
    ("P10", "positive", "党组织开展主题党日、为民服务活动", 20, "次", ["org"], None, True, "community_staff", "", False, 0, ""),
    ("P11", "positive", "邻里互助、调解矛盾纠纷", 10, "次", ALL, None, False, "community_staff", "", False, 0, ""),
    ("P12", "positive", "战时应急值守、防汛巡查", 10, "天", ALL, None, False, "community_staff", "", False, 0, ""),
    ("N01", "negative", "乱扔垃圾、乱堆乱放", 5, "次", ALL, None, True, "community_staff", "", False, 0, ""),
    ("N02", "negative", "不文明养犬", 5, "次", ALL, None, True, "community_staff", "", False, 0, ""),
    ("N03", "negative", "占用消防通道、乱停乱放", 10, "次", ALL, None, True, "community_staff", "", False, 0, ""),
    ("N04", "negative", "无正当理由不参加应急值守", 10, "次", ["party_member", "worker"], None, False, "community_staff", "", False, 0, ""),
    ("N05", "negative", "高空抛物", 20, "次", ALL, None, True, "community_staff", "", False, 0, ""),
    ("N06", "negative", "党组织未按要求开展组织生活", 20, "次", ["org"], None, False, "town_staff", "", False, 0, ""),
    ("X01", "prohibited", "违法犯罪被依法处理", 100, "次", PERSONS_AND_ORGS, None, True, "community_staff", "", False, 12, "next_year"),
    ("X02", "prohibited", "参与邪教、非法宗教活动", 100, "次", ALL, None, True, "community_staff", "", False, 12, "next_year"),
    ("X03", "prohibited", "违法抢建、私搭乱建拒不整改", 50, "次", ALL, None, True, "community_staff", "", False, 6, "this_year"),
    ("X04", "prohibited", "缠访闹访、扰乱公共秩序", 50, "次", ALL, None, True, "community_staff", "", False, 6, "this_year"),
]


def seed(apps, schema_editor):
    Rule = apps.get_model("points", "Rule")
    ExpiryScheme = apps.get_model("points", "ExpiryScheme")
    for order, row in enumerate(RULES):
        code, lst, name, points, unit, classes, cap, evidence, approver, source, auto, months, exclude = row
        Rule.objects.get_or_create(
            code=code,
            defaults={
                "list_kind": lst,
                "name": name,
                "points": points,
                "unit": unit,
                "classes": classes,
                "cap": cap,
                "cap_period": "year",
                "evidence_required": evidence,
                "approver_role": approver,
                "source_event": source,
                "auto_effective": auto,
                "sanction_redeem_months": months,
                "sanction_exclude": exclude,
                "order": order,
            },
        )
    ExpiryScheme.objects.get_or_create(path="510183", defaults={"name": "全市默认：积分长期有效", "mode": "never"})


class Migration(migrations.Migration):
    dependencies = [("points", "0002_ledger_database_guards")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
