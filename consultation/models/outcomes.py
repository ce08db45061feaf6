"""Publicity windows and objections; the resolution and what it causes; implementation,
supervision and evaluation."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from projects.models import MONEY, RenewalKind


class PublicityWindow(models.Model):
    """A timed notice (公示). `ends_at` is the timer: the beat sweep closes it once."""

    topic = models.ForeignKey("consultation.Topic", on_delete=models.PROTECT, related_name="publicity")
    step = models.ForeignKey("consultation.TemplateStep", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("公示标题"), max_length=150)
    content = models.TextField(_("公示内容"))
    opened_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("截止时间"))
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("公示")
        verbose_name_plural = _("公示")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "step"], name="publicity_once_per_step"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("opened_at")), name="publicity_ends_after_start"
            ),
        ]
        indexes = [
            # the beat sweep's index: only open windows, by due time
            models.Index(fields=["ends_at"], condition=Q(closed_at__isnull=True), name="publicity_open_due"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Objection(models.Model):
    window = models.ForeignKey(PublicityWindow, on_delete=models.PROTECT, related_name="objections")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("异议内容"))
    created_at = models.DateTimeField(_("提出时间"), auto_now_add=True)
    reply = models.TextField(_("答复"), blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("异议")
        verbose_name_plural = _("异议")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:30]


class Resolution(models.Model):
    topic = models.OneToOneField("consultation.Topic", on_delete=models.PROTECT, related_name="resolution")
    motion = models.ForeignKey("consultation.Motion", on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("决议内容"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("形成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("决议")
        verbose_name_plural = _("决议")

    def __str__(self) -> str:
        return f"决议 #{self.pk}"

    @property
    def approval_ref(self) -> str:
        return f"consultation.resolution:{self.pk}"


class OutcomeKind(models.TextChoices):
    RENEWAL = "renewal", _("创建更新项目")
    FUND_GRANT = "fund_grant", _("申请微基金资助")
    CLOSE_PROBLEM = "close_problem", _("销号小区问题")
    INCIDENT = "incident", _("转网格事件办理")


class OutcomeStatus(models.TextChoices):
    PENDING = "pending", _("待落实")
    DONE = "done", _("已落实")


class Outcome(models.Model):
    """One thing the resolution causes; executed once, in the 实施 step."""

    resolution = models.ForeignKey(Resolution, on_delete=models.PROTECT, related_name="outcomes")
    kind = models.CharField(_("类型"), max_length=14, choices=OutcomeKind.choices)
    title = models.CharField(_("事项"), max_length=150)
    amount = models.DecimalField(_("金额（元）"), null=True, blank=True, **MONEY)
    renewal_kind = models.CharField(_("项目类型"), max_length=20, choices=RenewalKind.choices, blank=True)
    problem = models.ForeignKey(
        "projects.CompoundProblem", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    incident_category = models.CharField(_("事件类别编码"), max_length=32, blank=True)
    status = models.CharField(
        _("状态"), max_length=8, choices=OutcomeStatus.choices, default=OutcomeStatus.PENDING
    )
    result_ref = models.CharField(_("落实结果"), max_length=64, blank=True)
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    executed_at = models.DateTimeField(_("落实时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("决议事项")
        verbose_name_plural = _("决议事项")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resolution"], condition=Q(kind="fund_grant"), name="outcome_one_grant_per_resolution"
            ),
            models.CheckConstraint(
                condition=~Q(kind="fund_grant") | Q(amount__gt=0), name="outcome_grant_has_amount"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Implementation(models.Model):
    topic = models.OneToOneField(
        "consultation.Topic", on_delete=models.PROTECT, related_name="implementation"
    )
    owner = models.CharField(_("实施负责人"), max_length=100)
    budget = models.DecimalField(
        _("预算（元）"), default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))], **MONEY
    )
    deadline = models.DateField(_("完成期限"))
    progress = models.PositiveSmallIntegerField(
        _("进度（%）"), default=0, validators=[MaxValueValidator(100)]
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("居民监督员"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("实施")
        verbose_name_plural = _("实施")
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="implementation_progress_max_100"),
            models.CheckConstraint(condition=Q(budget__gte=0), name="implementation_budget_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} 实施"


class ProgressReport(models.Model):
    implementation = models.ForeignKey(Implementation, on_delete=models.PROTECT, related_name="reports")
    progress = models.PositiveSmallIntegerField(_("进度（%）"))
    note = models.CharField(_("说明"), max_length=500, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("进展")
        verbose_name_plural = _("进展")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.progress}%"


class SupervisionCheck(models.Model):
    topic = models.ForeignKey(
        "consultation.Topic", on_delete=models.PROTECT, related_name="supervision_checks"
    )
    supervisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("检查情况"))
    satisfactory = models.BooleanField(_("进展符合决议"), default=True)
    at = models.DateTimeField(_("检查时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("监督检查")
        verbose_name_plural = _("监督检查")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.note[:30]


class Rating(models.Model):
    topic = models.ForeignKey("consultation.Topic", on_delete=models.PROTECT, related_name="ratings")
    round = models.PositiveSmallIntegerField(_("轮次"))
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(
        _("评分"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.CharField(_("评价"), max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("评议")
        verbose_name_plural = _("评议")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "round", "rater"], name="rating_once_per_round"),
            models.CheckConstraint(condition=Q(score__gte=1) & Q(score__lte=5), name="rating_score_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.score} 分"
