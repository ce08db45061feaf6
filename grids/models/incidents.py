"""Incidents with their append-only events, photos, extension requests and escalations.

Deadlines are columns: the escalation scan sweeps `due_at` through a partial index on the open
states."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..storage import private_storage, quarantine_storage
from .places import Grid, GridBoundary, GridMode
from .sla import Category, Urgency

USER = settings.AUTH_USER_MODEL


class Channel(models.TextChoices):
    ONLINE = "online", _("线上")
    OFFLINE = "offline", _("线下")
    HOTLINE = "hotline", _("12345")
    SENSOR = "sensor", _("感知设备")
    ASSIGNED = "assigned", _("上级交办")


class Tier(models.TextChoices):
    GRID = "grid", _("网格自办")
    COMMUNITY = "community", _("社区")
    TOWN = "town", _("镇街")
    DEPARTMENT = "department", _("市级部门")


class Level(models.IntegerChoices):
    MICRO = 0, _("微网格")
    GENERAL = 1, _("一般网格")
    COMMUNITY = 2, _("社区")
    TOWN = 3, _("镇街")
    CITY = 4, _("市级")


class Status(models.TextChoices):
    REPORTED = "reported", _("已上报")
    ACCEPTED = "accepted", _("已受理")
    IN_PROGRESS = "in_progress", _("处置中")
    RESOLVED = "resolved", _("已办结")
    VERIFIED = "verified", _("已核查")
    CLOSED = "closed", _("已归档")
    REJECTED = "rejected", _("不予受理")


OPEN_STATES = (Status.REPORTED, Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED, Status.VERIFIED)
FINAL_STATES = (Status.CLOSED, Status.REJECTED)


class Stage(models.TextChoices):
    """Which deadline `due_at` is currently watching."""

    ACCEPT = "accept", _("受理")
    RESOLVE = "resolve", _("办结")
    VERIFY = "verify", _("核查")
    EVALUATE = "evaluate", _("评价")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    DISSATISFIED = "dissatisfied", _("不满意")
    NONE = "none", _("未评价")


class Incident(models.Model):
    token = models.UUIDField(_("受理凭证"), default=uuid.uuid4, unique=True, editable=False)
    # No single-column index on reporter, category or assigned_department: incident_reporter,
    # incident_category_created_id and incident_dept_status lead with the same column and
    # serve the same lookups, and every index is written again on each non-HOT update (an
    # escalation rewrites 500 rows a batch).
    reporter = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reported_incidents",
        verbose_name=_("上报人"),
        db_index=False,
    )
    channel = models.CharField(_("来源渠道"), max_length=10, choices=Channel.choices, default=Channel.ONLINE)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("类别"), db_index=False
    )
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices, default=Urgency.BLUE)
    tier = models.CharField(_("处置层级"), max_length=10, choices=Tier.choices, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.REPORTED)
    description = models.TextField(_("事件描述"))
    address = models.CharField(_("地点描述"), max_length=200, blank=True)
    lat = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    # no single-column index: incident_community_created leads with it (the FK's lookups and
    # a community's list pages alike)
    community = models.ForeignKey(
        "projects.Community",
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("社区"),
        db_index=False,
    )
    micro_grid = models.ForeignKey(
        Grid,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("上报微网格"),
    )
    boundary = models.ForeignKey(
        GridBoundary,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("定位所用边界版本"),
    )
    path = models.CharField(_("路径"), max_length=120)
    mode = models.CharField(_("上报时模式"), max_length=6, choices=GridMode.choices, default=GridMode.PEACE)
    level = models.PositiveSmallIntegerField(_("当前层级"), choices=Level.choices, default=Level.MICRO)
    supervised = models.BooleanField(_("督办"), default=False)
    assigned_department = models.ForeignKey(
        "projects.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("承办部门"),
        db_index=False,
    )
    assignee = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_incidents",
        verbose_name=_("承办人"),
    )
    handlers = models.ManyToManyField(
        USER, blank=True, related_name="handled_incidents", verbose_name=_("参与处置人员")
    )
    # the timer the escalation scan watches (partial index below); per-stage deadlines for on-time
    due_at = models.DateTimeField(_("当前时限"), null=True, blank=True)
    due_stage = models.CharField(_("当前时限环节"), max_length=10, choices=Stage.choices, blank=True)
    accept_due = models.DateTimeField(_("受理时限"), null=True, blank=True)
    resolve_due = models.DateTimeField(_("办结时限"), null=True, blank=True)
    verify_due = models.DateTimeField(_("核查时限"), null=True, blank=True)
    evaluate_due = models.DateTimeField(_("评价截止"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    verified_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    # on-time flags are written at the transition, so later edits never change the figures
    accepted_on_time = models.BooleanField(_("按时受理"), null=True, blank=True)
    resolved_on_time = models.BooleanField(_("按时办结"), null=True, blank=True)
    verified_on_time = models.BooleanField(_("按时核查"), null=True, blank=True)
    result = models.TextField(_("处置结果"), blank=True)
    # separation of duties: who resolved it may not verify it (transitions.MOVES["verify"])
    resolved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("办结人")
    )
    satisfaction = models.CharField(_("满意度"), max_length=12, choices=Satisfaction.choices, blank=True)
    # the reporter also worked on it (a grid worker's own report): her rating stays on record
    # but 满意率 leaves it out (design §8 reads satisfaction where this is false)
    self_evaluated = models.BooleanField(_("处置人自评"), default=False, db_default=False)
    evaluation_comment = models.CharField(_("评价意见"), max_length=300, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    me_too_count = models.PositiveIntegerField(_("附议人数"), default=0)
    source_ref = models.CharField(_("来源引用"), max_length=64, blank=True)
    # the reporting device's idempotency key (the report page's outbox makes one per draft):
    # a resent draft finds the incident its first send created instead of making a second
    client_key = models.CharField(_("客户端提交编号"), max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("上报时间"))  # indexed with id below: the list's order
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("网格事件")
        verbose_name_plural = _("网格事件")
        ordering = ["-created_at", "-id"]
        # The list is newest first on (created_at, id) and pages by row value, so each common
        # filter has an index ending in (created_at, id): an equality on the filter column then
        # an ordered range (tests/grids/test_list_plans.py EXPLAINs every one of them).
        indexes = [
            # the path index (a scope is one range of it, filters.UnderPath) carries the
            # columns the list filters on, so a town's bounded count with a filter (「1000+」)
            # is an index-only scan that stops after 1,001 matches, not a bitmap of the
            # town's 50,000 rows or an early-stopping Seq Scan (docs/performance.md); with
            # `id` as well, a community's page finds its 21 ids index-only before reading any
            # row (the deferred join, pagination.keyset_rows)
            models.Index(
                fields=["path"],
                opclasses=["text_pattern_ops"],
                include=[
                    "status",
                    "urgency",
                    "tier",
                    "channel",
                    "category",
                    "supervised",
                    "created_at",
                    "id",
                ],
                name="incident_path_covering",
            ),
            models.Index(
                fields=["due_at"],
                condition=Q(status__in=list(OPEN_STATES)) & Q(due_at__isnull=False),
                name="incident_open_due",
            ),
            # the list's plain order; path and category_id included so that a page read ids
            # first (selectors.ids_first: category=) checks its scope and category in the
            # index while it walks, not in the heap (a town's category=02 page 2.1–3.3 →
            # 0.9–1.3 ms at 1,000,000); it replaced incident_created_id
            models.Index(
                fields=["created_at", "id"], include=["path", "category"], name="incident_created_covering"
            ),
            # a community staff member's list (selectors._staff_q writes a community grant as
            # `community_id = …`): page and bounded count read only the community's entries in
            # order, not its ~5,300 path entries and a top-n sort (1.9 → 0.25 ms at 1,000,000)
            models.Index(fields=["community", "created_at", "id"], name="incident_community_created"),
            models.Index(fields=["status", "created_at", "id"], name="incident_status_created_id"),
            models.Index(fields=["category", "created_at", "id"], name="incident_category_created_id"),
            models.Index(fields=["urgency", "created_at", "id"], name="incident_urgency_created"),
            # a town's bounded count of category= and urgency=red/orange pages (「1000+」):
            # an equality then the town's path range, index-only, stopping after 1,001
            # entries, where incident_path_covering read 9,700 (category) or 19,600 (red)
            # of the town's entries to find them (docs/performance.md, 2026-12-03 round 3);
            # the urgency one only for the two rare values: yellow and blue find their
            # 1,001 within a few thousand path entries, and their inserts do not pay for it
            models.Index(
                fields=["category", "path"],
                opclasses=["int8_ops", "text_pattern_ops"],
                name="incident_category_path",
            ),
            models.Index(
                fields=["urgency", "path"],
                opclasses=["text_ops", "text_pattern_ops"],
                condition=Q(urgency__in=[Urgency.RED, Urgency.ORANGE]),
                name="incident_urgent_path",
            ),
            models.Index(fields=["tier", "created_at", "id"], name="incident_tier_created"),
            models.Index(fields=["channel", "created_at", "id"], name="incident_channel_created"),
            models.Index(
                fields=["assigned_department", "created_at", "id"],
                condition=Q(assigned_department__isnull=False),
                name="incident_dept_created",
            ),
            # `path` included: a town's supervised=1 count is an index-only scan of the few
            # supervised rows, not of the town's 53,000 path entries (17 → 0.5 ms at 1,000,000)
            models.Index(
                fields=["created_at", "id"],
                include=["path"],
                condition=Q(supervised=True),
                name="incident_supervised_created",
            ),
            models.Index(
                fields=["created_at", "id"],
                condition=Q(status__in=list(OPEN_STATES)),
                name="incident_open_created",
            ),
            # consumers: selectors.workbench_counts, an index-only scan over the open rows of a
            # scope; a town's or community's overdue=1 page, whose ids come from it alone
            # (created_at, id included) before its 21 rows are read (7.3 → 1.1 ms at 1,000,000);
            # and the dashboard's present of a community or grid (open by state, overdue, late,
            # the 红灯 and oldest lists: qionglai/dashboard/present.py FEW), index-only with the
            # columns it reads included (grids migration 0020)
            models.Index(
                fields=["path", "status", "due_at", "supervised"],
                opclasses=["text_pattern_ops", "text_ops", "timestamptz_ops", "bool_ops"],
                include=[
                    "created_at",
                    "id",
                    "urgency",
                    "category",
                    "resolve_due",
                    "resolved_at",
                    "extension_count",
                ],
                condition=Q(status__in=list(OPEN_STATES)),
                name="incident_open_path",
            ),
            # the escalation scan's consumer: an incident at the city level keeps its passed
            # deadline (it stays 超时 in lists and counts) but has no level left to climb
            models.Index(
                fields=["due_at"],
                condition=Q(status__in=list(OPEN_STATES)) & Q(due_at__isnull=False) & Q(level__lt=Level.CITY),
                name="incident_escalation_due",
            ),
            models.Index(fields=["assigned_department", "status"], name="incident_dept_status"),
            models.Index(fields=["reporter", "-created_at"], name="incident_reporter"),
            # consumer: the dashboard fill's scan for incidents changed since its watermark
            models.Index(fields=["updated_at"], name="incident_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lat__isnull=True, lng__isnull=True) | Q(lat__isnull=False, lng__isnull=False),
                name="incident_lat_lng_together",
            ),
            models.CheckConstraint(condition=Q(reopen_count__lte=1), name="incident_reopen_once"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category.name if self.category_id else ''}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES


class IncidentFollower(models.Model):
    """ "Me too": a resident who reported the same thing follows the original."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="followers", verbose_name=_("事件")
    )
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="followed_incidents")
    note = models.CharField(_("补充说明"), max_length=300, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附议")
        verbose_name_plural = _("附议")
        constraints = [models.UniqueConstraint(fields=["incident", "user"], name="follower_once")]

    def __str__(self) -> str:
        return f"{self.user} +1 #{self.incident_id}"


class EventKind(models.TextChoices):
    REPORT = "report", _("上报")
    ACCEPT = "accept", _("受理")
    REJECT = "reject", _("不予受理")
    DISPATCH = "dispatch", _("派单")
    RETURN = "return", _("退回")
    EXTENSION_REQUEST = "extension_request", _("申请延期")
    EXTENSION_DECISION = "extension_decision", _("延期审批")
    RESOLVE = "resolve", _("办结")
    VERIFY = "verify", _("核查通过")
    VERIFY_FAIL = "verify_fail", _("核查未通过")
    EVALUATE = "evaluate", _("评价")
    REOPEN = "reopen", _("重办")
    ESCALATE = "escalate", _("升级督办")
    SUPERVISE = "supervise", _("转督办")
    AUTO_CLOSE = "auto_close", _("自动归档")
    ME_TOO = "me_too", _("附议")
    NOTE = "note", _("备注")
    PHOTO_REJECTED = "photo_rejected", _("照片未通过检查")


class IncidentEvent(models.Model):
    """Append-only history: who, when, from→to, note (photos link back to their event)."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="events", verbose_name=_("事件")
    )
    kind = models.CharField(_("动作"), max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("操作人")
    )
    from_status = models.CharField(_("原状态"), max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=12, choices=Status.choices, blank=True)
    note = models.TextField(_("说明"), blank=True)
    on_time = models.BooleanField(_("是否按时"), null=True, blank=True)
    data = models.JSONField(_("详情"), default=dict, blank=True)
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("事件流转记录")
        verbose_name_plural = _("事件流转记录")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="incident_event_timeline")]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.get_kind_display()}"


class PhotoKind(models.TextChoices):
    BEFORE = "before", _("处置前")
    AFTER = "after", _("处置后")


class PhotoStatus(models.TextChoices):
    PROCESSING = "processing", _("照片处理中")
    READY = "ready", _("可查看")
    REJECTED = "rejected", _("未通过检查")


class IncidentPhoto(models.Model):
    """A photo arrives as `quarantine` (the checked but untrusted original, never served) and
    becomes `image` + `thumbnail` once a task has re-encoded it; only READY photos are served."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="photos", verbose_name=_("事件")
    )
    event = models.ForeignKey(
        IncidentEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="photos"
    )
    kind = models.CharField(_("类型"), max_length=8, choices=PhotoKind.choices, default=PhotoKind.BEFORE)
    status = models.CharField(
        _("状态"), max_length=12, choices=PhotoStatus.choices, default=PhotoStatus.PROCESSING
    )
    quarantine = models.FileField(
        _("待检原件"), upload_to="incidents/%Y/%m/", storage=quarantine_storage, blank=True
    )
    image = models.ImageField(_("照片"), upload_to="incidents/%Y/%m/", storage=private_storage, blank=True)
    thumbnail = models.ImageField(
        _("缩略图"), upload_to="incidents/thumbs/%Y/%m/", storage=private_storage, blank=True
    )
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    error = models.CharField(_("未通过原因"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    processed_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("事件照片")
        verbose_name_plural = _("事件照片")
        ordering = ["uploaded_at", "id"]
        constraints = [
            # the serving view trusts `ready`: a ready photo always has its re-encoded files
            models.CheckConstraint(
                condition=~Q(status=PhotoStatus.READY) | (~Q(image="") & ~Q(thumbnail="")),
                name="incident_photo_ready_has_files",
            )
        ]
        indexes = [
            # the sweep that re-sends photos whose task was lost looks only at these
            models.Index(
                fields=["uploaded_at"],
                condition=Q(status=PhotoStatus.PROCESSING),
                name="incident_photo_processing",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.get_kind_display()}"


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    DENIED = "denied", _("未批准")


class ExtensionRequest(models.Model):
    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="extensions", verbose_name=_("事件")
    )
    requested_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("申请人")
    )
    reason = models.CharField(_("理由"), max_length=300)
    hours = models.PositiveIntegerField(
        _("延期小时数"), validators=[MinValueValidator(1), MaxValueValidator(24 * 30)]
    )
    status = models.CharField(
        _("状态"), max_length=8, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(_("申请时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident"], condition=Q(status=ExtensionStatus.PENDING), name="extension_one_pending"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} +{self.hours}h"


class Escalation(models.Model):
    """One step up the ladder. (incident, stage, level) is unique: an escalation happens once,
    however many scans see the same overdue row."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="escalations", verbose_name=_("事件")
    )
    # the incident's path, copied when the escalation is written (an incident's path is set
    # when it is reported and never changes): a place's escalations are one range of
    # escalation_path_at, not a probe into this table for each of the place's incidents
    path = models.CharField(_("路径"), max_length=120, editable=False)
    stage = models.CharField(_("超时环节"), max_length=12)
    level = models.PositiveSmallIntegerField(_("升至层级"), choices=Level.choices)
    due_at = models.DateTimeField(_("原时限"), null=True, blank=True)
    at = models.DateTimeField(_("时间"))
    # the outbox mark (design §12): the scan writes the row with this empty in the same
    # transaction as the escalation; the notice task (and its beat sweep) fans it out into
    # owed notices and stamps it, so a lost task message loses no notice
    notified_at = models.DateTimeField(_("通知登记时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("升级督办")
        verbose_name_plural = _("升级督办")
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "stage", "level"], name="escalation_once_per_stage_level"
            )
        ]
        indexes = [
            # consumer: the dashboard fill's scan and its per-day recount of escalations
            models.Index(fields=["at"], name="escalation_at"),
            # consumer: the dashboard's escalations of a place and period (counted.py's `esc`,
            # selectors._direct, breakdowns): the place's path range, then its days, with the
            # level in the index so the count is index-only
            models.Index(
                fields=["path", "at"],
                opclasses=["text_pattern_ops", "timestamptz_ops"],
                include=["level"],
                name="escalation_path_at",
            ),
            # the notice sweep's consumer: escalations whose notices are not yet owed
            models.Index(fields=["id"], condition=Q(notified_at__isnull=True), name="escalation_unnotified"),
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.stage} → {self.get_level_display()}"

    def save(self, *args, **kwargs):
        # the services write the path themselves; a row made without one still carries it
        if not self.path and self.incident_id:
            self.path = self.incident.path
        super().save(*args, **kwargs)


class Open311Client(models.Model):
    """An Open311 client allowed to POST service requests, acting as `user`."""

    name = models.CharField(_("名称"), max_length=100)
    api_key = models.CharField(_("API Key"), max_length=64, unique=True)
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("代表用户"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("Open311 客户端")
        verbose_name_plural = _("Open311 客户端")

    def __str__(self) -> str:
        return self.name
