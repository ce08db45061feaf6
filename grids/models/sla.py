"""Categories, SLA policies and the holiday calendar: deadlines as editable data."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .places import GridMode


class Category(models.Model):
    """Two-level incident taxonomy; the responsible department is 部门责任清单's "who handles what"."""

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级类别"),
    )
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    standard_code = models.CharField(_("国标编码（GB/T 30428 / 47678.5）"), max_length=32, blank=True)
    department = models.ForeignKey(
        "projects.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incident_categories",
        verbose_name=_("默认责任部门"),
    )
    duplicate_radius_m = models.PositiveIntegerField(_("重复判定半径（米）"), default=200)
    duplicate_window_days = models.PositiveIntegerField(_("重复判定时间窗（天）"), default=7)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("事件类别")
        verbose_name_plural = _("事件类别")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name


class Urgency(models.TextChoices):
    RED = "red", _("红色（特急）")
    ORANGE = "orange", _("橙色（紧急）")
    YELLOW = "yellow", _("黄色（较急）")
    BLUE = "blue", _("蓝色（一般）")


class DurationUnit(models.TextChoices):
    HOURS = "hours", _("小时")
    DAYS = "days", _("自然日")
    WORKDAYS = "workdays", _("工作日")


def _amount(label: str, default: str) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=6, decimal_places=2, default=Decimal(default), validators=[MinValueValidator(0)]
    )


def _unit(label: str, default: str) -> models.CharField:
    return models.CharField(label, max_length=8, choices=DurationUnit.choices, default=default)


class SlaPolicy(models.Model):
    """Deadlines per category × urgency × mode. A row with no category is the default for its
    urgency and mode; a category row overrides it (data, editable in the admin)."""

    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="policies",
        verbose_name=_("类别"),
    )
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices)
    mode = models.CharField(_("运行模式"), max_length=6, choices=GridMode.choices, default=GridMode.PEACE)
    accept_amount = _amount("受理时限", "4")
    accept_unit = _unit("受理时限单位", DurationUnit.HOURS)
    resolve_amount = _amount("办结时限", "3")
    resolve_unit = _unit("办结时限单位", DurationUnit.WORKDAYS)
    verify_amount = _amount("核查时限", "1")
    verify_unit = _unit("核查时限单位", DurationUnit.WORKDAYS)
    evaluation_amount = _amount("评价窗口", "3")
    evaluation_unit = _unit("评价窗口单位", DurationUnit.DAYS)
    max_extensions = models.PositiveSmallIntegerField(
        _("最多延期次数"), default=1, validators=[MaxValueValidator(5)]
    )

    class Meta:
        verbose_name = _("时限策略")
        verbose_name_plural = _("时限策略")
        ordering = ["category__code", "mode", "urgency"]
        constraints = [
            models.UniqueConstraint(
                fields=["urgency", "mode"], condition=Q(category__isnull=True), name="sla_default_unique"
            ),
            models.UniqueConstraint(
                fields=["category", "urgency", "mode"],
                condition=Q(category__isnull=False),
                name="sla_category_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category or '默认'} {self.get_urgency_display()} {self.get_mode_display()}"


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("法定节假日")
    WORKDAY = "workday", _("调休上班")


class CalendarDay(models.Model):
    """Exceptions to Monday–Friday: public holidays and adjusted working days (调休)."""

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=8, choices=DayKind.choices)
    name = models.CharField(_("名称"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"
