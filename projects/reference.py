"""Reference data the platform ships with (seeded by a data migration, editable in admin):
the seven scenes, the default "3+4+11" community classes and the city departments."""

SCENES = [
    ("service", "服务"),
    ("culture", "文化"),
    ("ecology", "生态"),
    ("space", "空间"),
    ("industry", "产业"),
    ("cogovernance", "共治"),
    ("smart", "智慧"),
]

# 默认模板: 3 classes, 4 groups, 11 types — the city's own list replaces it in the admin.
COMMUNITY_CLASSES = [
    ("urban", "城镇社区", None),
    ("rural", "乡村社区", None),
    ("industrial", "产业社区", None),
    ("urban.core", "中心城区", "urban"),
    ("urban.fringe", "城郊融合", "urban"),
    ("rural.feature", "特色村落", "rural"),
    ("rural.settled", "集中居住", "rural"),
    ("urban.core.oldtown", "古城宜居", "urban.core"),
    ("urban.core.newtown", "新城发展", "urban.core"),
    ("urban.core.commerce", "商贸活力", "urban.core"),
    ("urban.fringe.mixed", "城乡融合", "urban.fringe"),
    ("rural.feature.tourism", "文旅融合", "rural.feature"),
    ("rural.feature.ecology", "生态康养", "rural.feature"),
    ("rural.feature.agri", "农业特色", "rural.feature"),
    ("rural.settled.resettle", "集中安置", "rural.settled"),
    ("industrial.cluster", "产业集群", "industrial"),
    ("industrial.park", "园区配套", "industrial"),
    ("industrial.citymix", "产城融合", "industrial"),
]

DEPARTMENTS = [
    ("zjj", "市住房和城乡建设局"),
    ("cgj", "市综合行政执法局（城管）"),
    ("gaj", "市公安局"),
    ("scjgj", "市市场监督管理局"),
    ("sthjj", "市生态环境局"),
    ("wjj", "市卫生健康局"),
    ("mzj", "市民政局"),
    ("yjglj", "市应急管理局"),
    ("swj", "市水务局"),
    ("jtysj", "市交通运输局"),
    ("sfj", "市司法局"),
    ("zrzyj", "市规划和自然资源局"),
    ("rsj", "市人力资源和社会保障局"),
    ("gdj", "国网邛崃供电公司"),
]

DUTIES = [
    ("zjj", "物业服务企业监管、小区公共设施维修", "《物业管理条例》"),
    ("zjj", "老旧院落改造", "《四川省城镇老旧小区改造技术导则》"),
    ("cgj", "占道经营、违规户外广告整治", "《城市市容和环境卫生管理条例》"),
    ("cgj", "生活垃圾分类与清运监督", "《四川省城乡环境综合治理条例》"),
    ("gaj", "治安隐患、电动车违规充电查处", "《中华人民共和国治安管理处罚法》"),
    ("scjgj", "食品安全、价格欺诈投诉", "《中华人民共和国食品安全法》"),
    ("sthjj", "噪声扰民、油烟与污水排放", "《中华人民共和国环境噪声污染防治法》"),
    ("wjj", "家庭医生签约服务", "《关于推进家庭医生签约服务的指导意见》"),
    ("mzj", "特殊困难群体关爱、低保救助", "《社会救助暂行办法》"),
    ("yjglj", "安全生产、自然灾害隐患处置", "《中华人民共和国安全生产法》"),
    ("swj", "供排水设施、防汛堤岸", "《城镇排水与污水处理条例》"),
    ("sfj", "矛盾纠纷人民调解指导", "《中华人民共和国人民调解法》"),
]


def ensure_reference_data(*, scene_model, class_model, department_model, duty_model) -> None:
    """Creates whatever reference rows are missing (idempotent). Used by the data migration
    (with historical models) and by the demo builder (after a test database flush)."""
    for order, (code, name) in enumerate(SCENES):
        scene_model.objects.get_or_create(code=code, defaults={"name": name, "order": order})
    for order, (code, name, parent_code) in enumerate(COMMUNITY_CLASSES):
        parent = class_model.objects.get(code=parent_code) if parent_code else None
        class_model.objects.get_or_create(
            code=code, defaults={"name": name, "parent": parent, "order": order}
        )
    for code, name in DEPARTMENTS:
        department_model.objects.get_or_create(code=code, defaults={"name": name})
    for dept_code, matter, basis in DUTIES:
        duty_model.objects.get_or_create(
            department=department_model.objects.get(code=dept_code),
            matter=matter,
            defaults={"legal_basis": basis},
        )
