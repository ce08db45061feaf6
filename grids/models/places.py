"""The grid tree: grids, their boundary versions, 平战 mode switches and the "1+2+N" roster."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from projects.models import path_index
from qionglai.users.models import PATH_VALIDATOR, GridPost

USER = settings.AUTH_USER_MODEL


class GridKind(models.TextChoices):
    COMMUNITY = "community", _("社区总网格")
    GENERAL = "general", _("一般网格")
    MICRO = "micro", _("微网格")
    SPECIAL = "special", _("专属网格")
    EMERGENCY = "emergency", _("应急网格")


class GridMode(models.TextChoices):
    PEACE = "peace", _("平时")
    WAR = "war", _("战时")


MICRO_HOUSEHOLDS_MIN = 30
MICRO_HOUSEHOLDS_MAX = 100


class Grid(models.Model):
    """One table for every kind of grid. `path` continues the community's path: 510183.001.a01.g03
    (general grid) → 510183.001.a01.g03.m07 (micro-grid)."""

    community = models.ForeignKey(
        "projects.Community", on_delete=models.PROTECT, related_name="grids", verbose_name=_("所属社区")
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级网格"),
    )
    kind = models.CharField(_("类型"), max_length=10, choices=GridKind.choices)
    code = models.CharField(_("编码"), max_length=16)
    name = models.CharField(_("名称"), max_length=100)
    path = models.CharField(_("路径"), max_length=120, unique=True, validators=[PATH_VALIDATOR])
    # 专属网格: 学校 / 医院 / 养老机构 / 建筑工地; 应急网格: 防汛堤岸 / 地灾点 …
    special_type = models.CharField(_("专属/应急类别"), max_length=20, blank=True)
    households = models.PositiveIntegerField(_("户数"), default=0)
    mode = models.CharField(_("运行模式"), max_length=6, choices=GridMode.choices, default=GridMode.PEACE)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["community", "parent", "code"], name="grid_code_unique_in_parent")
        ]
        indexes = [path_index("grid"), models.Index(fields=["community", "kind"], name="grid_community_kind")]

    def __str__(self) -> str:
        return self.name

    @property
    def households_warning(self) -> str:
        if self.kind == GridKind.MICRO and not (
            MICRO_HOUSEHOLDS_MIN <= self.households <= MICRO_HOUSEHOLDS_MAX
        ):
            return f"微网格户数一般为 {MICRO_HOUSEHOLDS_MIN}–{MICRO_HOUSEHOLDS_MAX} 户，当前 {self.households} 户"
        return ""


class GridBoundary(models.Model):
    """A version of a grid's boundary (GeoJSON Polygon or MultiPolygon, [lng, lat] order).

    Redrawing a boundary closes the current version (valid_to) and opens a new one, so an
    incident keeps the micro-grid and the version it was located with. The bbox columns let
    point-in-polygon prefilter 3,830 polygons with one indexed range query.
    """

    grid = models.ForeignKey(
        Grid, on_delete=models.PROTECT, related_name="boundaries", verbose_name=_("网格")
    )
    version = models.PositiveIntegerField(_("版本"))
    geometry = models.JSONField(_("边界（GeoJSON）"))
    min_lng = models.FloatField()
    max_lng = models.FloatField()
    min_lat = models.FloatField()
    max_lat = models.FloatField()
    valid_from = models.DateTimeField(_("生效时间"), auto_now_add=True)
    valid_to = models.DateTimeField(_("失效时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("网格边界")
        verbose_name_plural = _("网格边界")
        ordering = ["grid", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["grid", "version"], name="boundary_version_unique"),
            models.UniqueConstraint(
                fields=["grid"], condition=Q(valid_to__isnull=True), name="boundary_one_current"
            ),
        ]
        indexes = [
            # consumer: selectors.locate_micro_grid's bbox prefilter over current boundaries
            models.Index(
                fields=["min_lng", "max_lng", "min_lat", "max_lat"],
                condition=Q(valid_to__isnull=True),
                name="boundary_current_bbox",
            )
        ]

    def __str__(self) -> str:
        return f"{self.grid} v{self.version}"


class ModeSwitch(models.Model):
    """Append-only log of 平时/战时 switches."""

    grid = models.ForeignKey(
        Grid, on_delete=models.PROTECT, related_name="mode_switches", verbose_name=_("网格")
    )
    from_mode = models.CharField(_("原模式"), max_length=6, choices=GridMode.choices)
    to_mode = models.CharField(_("新模式"), max_length=6, choices=GridMode.choices)
    reason = models.CharField(_("原因"), max_length=300)
    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("操作人")
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("平战切换记录")
        verbose_name_plural = _("平战切换记录")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.grid} {self.get_from_mode_display()}→{self.get_to_mode_display()}"


class ReserveKind(models.TextChoices):
    PARTY_MEMBER = "party_member", _("党员")
    BUILDING_HEAD = "building_head", _("楼栋长")
    VOLUNTEER = "volunteer", _("志愿者")
    PROPERTY = "property", _("物业")
    DOCTOR = "doctor", _("家庭医生")
    POLICE = "police", _("民警")
    OTHER = "other", _("其他")


class RosterEntry(models.Model):
    """ "1+2+N" staffing of a grid by post: 1 网格长, 2 supporting posts, N reserve forces."""

    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="roster", verbose_name=_("网格"))
    user = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="grid_posts", verbose_name=_("人员")
    )
    post = models.CharField(_("岗位"), max_length=16, choices=GridPost.choices)
    reserve_kind = models.CharField(_("后备力量类别"), max_length=16, choices=ReserveKind.choices, blank=True)
    started_on = models.DateField(_("到岗日期"), null=True, blank=True)
    retired_at = models.DateTimeField(_("离岗时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("网格人员")
        verbose_name_plural = _("网格人员")
        ordering = ["grid", "post", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "user", "post"],
                condition=Q(retired_at__isnull=True),
                name="roster_unique_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.grid} {self.get_post_display()} {self.user}"
