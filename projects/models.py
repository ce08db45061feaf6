"""The registry (design §7): towns, communities, compounds, plans, duties, problems, renewal
projects, the community micro-fund and the shared supermarket. Every place carries a path."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qionglai.core.uploads import RandomName
from qionglai.users.models import PATH_VALIDATOR

MONEY = {"max_digits": 14, "decimal_places": 2}


def path_index(model_name: str) -> models.Index:
    # text_pattern_ops makes `path LIKE 'prefix.%'` an index range scan on PostgreSQL under any
    # collation (design §3); other databases ignore the opclass.
    return models.Index(fields=["path"], name=f"{model_name}_path_like", opclasses=["text_pattern_ops"])


class Place(models.Model):
    code = models.CharField(_("编码"), max_length=32)
    name = models.CharField(_("名称"), max_length=100)
    path = models.CharField(
        _("路径"), max_length=120, unique=True, validators=[PATH_VALIDATOR], editable=False
    )
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class TownKind(models.TextChoices):
    TOWN = "town", _("镇")
    STREET = "street", _("街道")


class Town(Place):
    kind = models.CharField(_("类型"), max_length=8, choices=TownKind.choices, default=TownKind.TOWN)

    class Meta:
        verbose_name = _("镇（街道）")
        verbose_name_plural = _("镇（街道）")
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["code"], name="town_code_unique")]
        indexes = [path_index("town")]


class CommunityClass(models.Model):
    """The "3+4+11" classification as an editable tree (default, until the city's own list)."""

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级分类"),
    )
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("社区分类")
        verbose_name_plural = _("社区分类")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name

    @property
    def top(self) -> "CommunityClass":
        node = self
        while node.parent_id:
            node = node.parent
        return node


class CommunityKind(models.TextChoices):
    VILLAGE = "village", _("村")
    COMMUNITY = "community", _("社区")


class Community(Place):
    town = models.ForeignKey(
        Town, on_delete=models.PROTECT, related_name="communities", verbose_name=_("所属镇街")
    )
    kind = models.CharField(
        _("类型"), max_length=10, choices=CommunityKind.choices, default=CommunityKind.COMMUNITY
    )
    community_class = models.ForeignKey(
        CommunityClass,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="communities",
        verbose_name=_("分类"),
    )
    is_demonstration = models.BooleanField(_("示范社区"), default=False)
    is_future_park = models.BooleanField(_("未来公园社区"), default=False)
    households = models.PositiveIntegerField(_("户数"), default=0)
    population = models.PositiveIntegerField(_("人口"), default=0)

    class Meta:
        verbose_name = _("村（社区）")
        verbose_name_plural = _("村（社区）")
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["town", "code"], name="community_code_unique_in_town")]
        indexes = [path_index("community")]


class Scene(models.Model):
    """The seven scenes (服务, 文化, 生态, 空间, 产业, 共治, 智慧)."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=20, unique=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("场景")
        verbose_name_plural = _("场景")
        ordering = ["order"]

    def __str__(self) -> str:
        return self.name


class PlanPhase(models.TextChoices):
    PRIORITY = "priority", _("优先打造")
    STEADY = "steady", _("稳步推进")
    LATER = "later", _("后续补足")


class CommunityPlan(models.Model):
    """一社一策: one plan per community and year."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="plans", verbose_name=_("社区")
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    goals = models.TextField(_("目标"))
    measures = models.TextField(_("措施"), blank=True)
    scenes = models.ManyToManyField(Scene, blank=True, related_name="plans", verbose_name=_("场景"))
    phase = models.CharField(_("阶段"), max_length=10, choices=PlanPhase.choices, default=PlanPhase.STEADY)
    path = models.CharField(_("路径"), max_length=120, editable=False)

    class Meta:
        verbose_name = _("一社一策")
        verbose_name_plural = _("一社一策")
        ordering = ["-year", "community__path"]
        constraints = [
            models.UniqueConstraint(fields=["community", "year"], name="plan_one_per_community_year")
        ]
        indexes = [path_index("plan")]

    def __str__(self) -> str:
        return f"{self.community.name} {self.year} 年一社一策"


class CompoundKind(models.TextChoices):
    COMMERCIAL = "commercial", _("商品房小区")
    OLD_COURTYARD = "old_courtyard", _("老旧院落")
    RESETTLEMENT = "resettlement", _("安置小区")
    RURAL_SETTLEMENT = "rural_settlement", _("乡村集中居住区")


class GovernanceMode(models.TextChoices):
    """The three modes of the "213" model."""

    TRUST_PROPERTY = "trust_property", _("信托制物业")
    PROPERTY_SOCIAL = "property_social", _("物业+社工")
    SELF_STEWARD = "self_steward", _("自治大管家")


class Compound(Place):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="compounds", verbose_name=_("所属社区")
    )
    kind = models.CharField(_("类型"), max_length=20, choices=CompoundKind.choices)
    governance_mode = models.CharField(
        _("治理模式"), max_length=20, choices=GovernanceMode.choices, blank=True
    )
    property_company = models.CharField(_("物业企业"), max_length=100, blank=True)
    households = models.PositiveIntegerField(_("户数"), default=0)
    renovated = models.BooleanField(_("已完成改造"), default=False)
    is_smart = models.BooleanField(_("智慧小区"), default=False)
    # e.g. {"face_recognition": 4, "vehicle_recognition": 2, "public_safety_cameras": 18}
    smart_devices = models.JSONField(_("智慧设施概况"), default=dict, blank=True)

    class Meta:
        verbose_name = _("小区（院落）")
        verbose_name_plural = _("小区（院落）")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["community", "code"], name="compound_code_unique_in_community")
        ]
        indexes = [path_index("compound")]


class Department(models.Model):
    """A city department that handles matters (部门责任清单) and dispatched incidents."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("职能部门")
        verbose_name_plural = _("职能部门")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class DepartmentDuty(models.Model):
    """部门责任清单: which department handles which matter, on what legal basis."""

    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="duties", verbose_name=_("部门")
    )
    matter = models.CharField(_("事项"), max_length=200)
    legal_basis = models.CharField(_("法律依据"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("部门责任清单")
        verbose_name_plural = _("部门责任清单")
        ordering = ["department__code", "matter"]
        constraints = [models.UniqueConstraint(fields=["department", "matter"], name="duty_unique_matter")]

    def __str__(self) -> str:
        return f"{self.department.name}：{self.matter}"


class ProblemStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    IN_PROGRESS = "in_progress", _("处理中")
    TO_TOPIC = "to_topic", _("已转议题")
    TO_INCIDENT = "to_incident", _("已转事件")
    RESOLVED = "resolved", _("已解决")
    CLOSED = "closed", _("已关闭")


class ProblemSource(models.TextChoices):
    RESIDENT = "resident", _("居民反映")
    STAFF = "staff", _("工作人员排查")


class CompoundProblem(models.Model):
    """小区问题清单 item."""

    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="problems", verbose_name=_("小区")
    )
    title = models.CharField(_("问题"), max_length=200)
    description = models.TextField(_("描述"), blank=True)
    source = models.CharField(
        _("来源"), max_length=10, choices=ProblemSource.choices, default=ProblemSource.RESIDENT
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("提出人"),
    )
    owner_department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="problems",
        verbose_name=_("责任部门"),
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=ProblemStatus.choices, default=ProblemStatus.OPEN
    )
    resolution = models.TextField(_("处理结果"), blank=True)
    path = models.CharField(_("路径"), max_length=120, editable=False)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("小区问题清单")
        verbose_name_plural = _("小区问题清单")
        ordering = ["-created_at", "-id"]
        indexes = [path_index("problem")]

    def __str__(self) -> str:
        return self.title


class RenewalKind(models.TextChoices):
    MICRO_RENEWAL = "micro_renewal", _("微更新")
    OLD_COURTYARD = "old_courtyard", _("老旧院落改造")
    SMART_COMPOUND = "smart_compound", _("智慧小区")
    BEAUTY_SPACE = "beauty_space", _("社区美空间")
    COMMERCIAL_SCENE = "commercial_scene", _("商业场景")


class RenewalStatus(models.TextChoices):
    PLANNED = "planned", _("规划")
    APPROVED = "approved", _("立项")
    IMPLEMENTING = "implementing", _("实施")
    COMPLETED = "completed", _("完工")
    EVALUATED = "evaluated", _("评估")


RENEWAL_NEXT = {
    RenewalStatus.PLANNED: RenewalStatus.APPROVED,
    RenewalStatus.APPROVED: RenewalStatus.IMPLEMENTING,
    RenewalStatus.IMPLEMENTING: RenewalStatus.COMPLETED,
    RenewalStatus.COMPLETED: RenewalStatus.EVALUATED,
}


class RenewalProject(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="renewal_projects", verbose_name=_("社区")
    )
    compound = models.ForeignKey(
        Compound,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewal_projects",
        verbose_name=_("小区"),
    )
    name = models.CharField(_("项目名称"), max_length=150)
    kind = models.CharField(_("类型"), max_length=20, choices=RenewalKind.choices)
    scene = models.ForeignKey(
        Scene,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("场景"),
    )
    site = models.CharField(_("地点"), max_length=200, blank=True)
    budget = models.DecimalField(
        _("预算（元）"), validators=[MinValueValidator(Decimal("0"))], default=Decimal("0"), **MONEY
    )
    funding_sources = models.CharField(_("资金来源"), max_length=200, blank=True)
    status = models.CharField(
        _("状态"), max_length=14, choices=RenewalStatus.choices, default=RenewalStatus.PLANNED
    )
    # Where the project came from, e.g. "consultation.resolution:42"; consultation sets it.
    source_ref = models.CharField(_("来源"), max_length=64, blank=True)
    path = models.CharField(_("路径"), max_length=120, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("更新项目")
        verbose_name_plural = _("更新项目")
        ordering = ["-created_at", "-id"]
        indexes = [path_index("renewal"), models.Index(fields=["status"], name="renewal_status")]
        constraints = [
            models.CheckConstraint(condition=Q(budget__gte=0), name="renewal_budget_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class RenewalEvent(models.Model):
    """Append-only history of a renewal project's status."""

    project = models.ForeignKey(
        RenewalProject, on_delete=models.PROTECT, related_name="events", verbose_name=_("项目")
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    from_status = models.CharField(_("原状态"), max_length=14, choices=RenewalStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=14, choices=RenewalStatus.choices)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("项目进展记录")
        verbose_name_plural = _("项目进展记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class RenewalMilestone(models.Model):
    project = models.ForeignKey(
        RenewalProject, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("项目")
    )
    title = models.CharField(_("节点"), max_length=150)
    due_date = models.DateField(_("计划完成"), null=True, blank=True)
    done_date = models.DateField(_("实际完成"), null=True, blank=True)

    class Meta:
        verbose_name = _("项目节点")
        verbose_name_plural = _("项目节点")
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return self.title


class RenewalPhoto(models.Model):
    project = models.ForeignKey(
        RenewalProject, on_delete=models.CASCADE, related_name="photos", verbose_name=_("项目")
    )
    image = models.ImageField(_("照片"), upload_to=RandomName("renewal"))
    thumbnail = models.ImageField(_("缩略图"), upload_to=RandomName("renewal/thumbs"), blank=True)
    caption = models.CharField(_("说明"), max_length=150, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("项目照片")
        verbose_name_plural = _("项目照片")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.caption or self.image.name


class MicroFund(models.Model):
    """社区微基金: one per community; balance in yuan, never negative (DB check)."""

    community = models.OneToOneField(
        Community, on_delete=models.PROTECT, related_name="fund", verbose_name=_("社区")
    )
    name = models.CharField(_("名称"), max_length=100)
    balance = models.DecimalField(_("余额（元）"), default=Decimal("0"), **MONEY)
    path = models.CharField(_("路径"), max_length=120, editable=False)

    class Meta:
        verbose_name = _("社区微基金")
        verbose_name_plural = _("社区微基金")
        ordering = ["path"]
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="fund_balance_not_negative")]
        indexes = [path_index("fund")]

    def __str__(self) -> str:
        return self.name


class FundEntryKind(models.TextChoices):
    SUPERMARKET = "supermarket", _("共享超市收益")
    DONATION = "donation", _("捐赠")
    TRANSFER = "transfer", _("划拨")
    GRANT = "grant", _("资助支出")
    REVERSAL = "reversal", _("冲正")


class FundEntry(models.Model):
    """Append-only movement of a fund: inflows positive, grants negative. The fund's balance
    equals the sum of its entries; a mistake is corrected by a reversal entry."""

    fund = models.ForeignKey(
        MicroFund, on_delete=models.PROTECT, related_name="entries", verbose_name=_("基金")
    )
    kind = models.CharField(_("类型"), max_length=12, choices=FundEntryKind.choices)
    amount = models.DecimalField(_("金额（元）"), **MONEY)
    balance_after = models.DecimalField(_("发生后余额"), **MONEY)
    # Grants carry the approval they rest on (consultation makes a resolution the only source).
    approval_ref = models.CharField(_("审批依据"), max_length=64, blank=True)
    idempotency_key = models.CharField(_("幂等键"), max_length=100, unique=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("经办人"),
    )
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("基金收支")
        verbose_name_plural = _("基金收支")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="fund_entry_amount_not_zero"),
            models.CheckConstraint(
                condition=~Q(kind="grant") | (Q(amount__lt=0) & ~Q(approval_ref="")),
                name="fund_grant_negative_with_approval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class ContributionBasis(models.TextChoices):
    NET_PROFIT = "net_profit", _("净利润")
    REVENUE = "revenue", _("营业收入")


class SharedSupermarket(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="supermarkets", verbose_name=_("社区")
    )
    name = models.CharField(_("名称"), max_length=100)
    member_households = models.PositiveIntegerField(_("入股户数"), default=0)
    contribution_basis = models.CharField(
        _("提取基数"),
        max_length=12,
        choices=ContributionBasis.choices,
        default=ContributionBasis.NET_PROFIT,
    )
    contribution_rate = models.DecimalField(
        _("提取比例"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.1000"),
        help_text=_("0.1 表示 10%"),
    )
    path = models.CharField(_("路径"), max_length=120, editable=False)

    class Meta:
        verbose_name = _("共享超市")
        verbose_name_plural = _("共享超市")
        ordering = ["path", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contribution_rate__gte=0) & Q(contribution_rate__lte=1),
                name="supermarket_rate_between_0_and_1",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SupermarketMonth(models.Model):
    supermarket = models.ForeignKey(
        SharedSupermarket,
        on_delete=models.PROTECT,
        related_name="months",
        verbose_name=_("共享超市"),
    )
    month = models.DateField(_("月份"), help_text=_("当月 1 日"))
    revenue = models.DecimalField(_("营业收入（元）"), validators=[MinValueValidator(Decimal("0"))], **MONEY)
    net_profit = models.DecimalField(_("净利润（元）"), **MONEY)
    contribution = models.DecimalField(_("提取微基金（元）"), **MONEY)
    fund_entry = models.OneToOneField(
        FundEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("基金入账"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("共享超市月度经营")
        verbose_name_plural = _("共享超市月度经营")
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["supermarket", "month"], name="supermarket_month_once"),
            models.CheckConstraint(
                condition=Q(contribution__gte=0), name="supermarket_contribution_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supermarket} {self.month:%Y-%m}"
