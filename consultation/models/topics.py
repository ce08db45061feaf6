"""Topics (议题) and their append-only history."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from projects.models import path_index


class TopicSource(models.TextChoices):
    RESIDENT = "resident", _("居民提议")
    PROBLEM = "problem", _("小区问题清单")
    INCIDENT = "incident", _("网格事件")
    STAFF = "staff", _("工作人员提出")


class TopicScope(models.TextChoices):
    MICRO_GRID = "micro_grid", _("微网格")
    COMPOUND = "compound", _("小区（院落）")
    COMMUNITY = "community", _("社区")


class TopicStatus(models.TextChoices):
    ACTIVE = "active", _("议事中")
    REJECTED = "rejected", _("审议未通过")
    MERGED = "merged", _("已合并")
    TO_INCIDENT = "to_incident", _("已转网格事件")
    NOT_PASSED = "not_passed", _("表决未通过")
    CLOSED = "closed", _("已办结")


FINAL_TOPIC_STATES = {
    TopicStatus.REJECTED,
    TopicStatus.MERGED,
    TopicStatus.TO_INCIDENT,
    TopicStatus.NOT_PASSED,
    TopicStatus.CLOSED,
}


class Topic(models.Model):
    title = models.CharField(_("议题"), max_length=120)
    description = models.TextField(_("内容"))
    source = models.CharField(_("来源"), max_length=10, choices=TopicSource.choices)
    source_problem = models.ForeignKey(
        "projects.CompoundProblem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="topics",
        verbose_name=_("来源问题"),
    )
    source_ref = models.CharField(_("来源编号"), max_length=64, blank=True)
    scope = models.CharField(_("范围"), max_length=12, choices=TopicScope.choices)
    community = models.ForeignKey(
        "projects.Community", on_delete=models.PROTECT, related_name="topics", verbose_name=_("社区")
    )
    compound = models.ForeignKey(
        "projects.Compound",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="topics",
        verbose_name=_("小区"),
    )
    micro_grid = models.ForeignKey(
        "grids.Grid",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="topics",
        verbose_name=_("微网格"),
    )
    micro_grid_path = models.CharField(_("微网格路径"), max_length=120, blank=True)
    micro_grid_name = models.CharField(_("微网格"), max_length=100, blank=True)
    path = models.CharField(_("路径"), max_length=120, editable=False)
    proposer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="proposed_topics",
        verbose_name=_("提议人"),
    )
    template = models.ForeignKey(
        "consultation.ProcedureTemplate",
        on_delete=models.PROTECT,
        related_name="topics",
        verbose_name=_("议事规则"),
    )
    current_step = models.ForeignKey(
        "consultation.TemplateStep", on_delete=models.PROTECT, related_name="+", verbose_name=_("当前步骤")
    )
    step_started_at = models.DateTimeField(_("本步骤开始时间"))
    status = models.CharField(
        _("状态"), max_length=12, choices=TopicStatus.choices, default=TopicStatus.ACTIVE
    )
    round = models.PositiveSmallIntegerField(_("评议轮次"), default=1)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_topics",
        verbose_name=_("并入议题"),
    )
    status_reason = models.CharField(_("结论说明"), max_length=500, blank=True)
    incident_ref = models.CharField(_("转办事件"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("提出时间"), auto_now_add=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("议题")
        verbose_name_plural = _("议题")
        ordering = ["-created_at", "-id"]
        indexes = [
            path_index("topic"),
            models.Index(fields=["status", "current_step"], name="topic_status_step"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="merged") | Q(merged_into__isnull=False), name="topic_merged_has_target"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status == TopicStatus.ACTIVE

    @property
    def place_name(self) -> str:
        if self.scope == TopicScope.COMPOUND and self.compound_id:
            return self.compound.name
        if self.scope == TopicScope.MICRO_GRID:
            return self.micro_grid_name or self.micro_grid_path
        return self.community.name


class EventKind(models.TextChoices):
    PROPOSED = "proposed", _("提出议题")
    ADVANCED = "advanced", _("完成步骤")
    ACCEPTED = "accepted", _("审议通过")
    REJECTED = "rejected", _("审议驳回")
    MERGED = "merged", _("合并议题")
    TO_INCIDENT = "to_incident", _("转为网格事件")
    PUBLICITY_OPENED = "publicity_opened", _("发布公示")
    PUBLICITY_CLOSED = "publicity_closed", _("公示期满")
    PUBLICITY_PHOTO = "publicity_photo", _("上传公示照片")
    OBJECTION = "objection", _("收到异议")
    OBJECTION_REPLIED = "objection_replied", _("答复异议")
    MEETING = "meeting", _("会议")
    VOTE_OPENED = "vote_opened", _("开始表决")
    VOTE_CLOSED = "vote_closed", _("表决结束")
    RESOLUTION = "resolution", _("形成决议")
    OUTCOME = "outcome", _("落实决议事项")
    IMPLEMENTATION = "implementation", _("实施进展")
    SUPERVISION = "supervision", _("监督检查")
    RATED = "rated", _("评议")
    CLOSED = "closed", _("办结")
    REOPENED = "reopened", _("重新实施")
    NOT_PASSED = "not_passed", _("表决未通过，议题终止")


class TopicEvent(models.Model):
    """Append-only: who did what to the topic, at which step."""

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="events", verbose_name=_("议题"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("类型"), max_length=20, choices=EventKind.choices)
    step = models.ForeignKey(
        "consultation.TemplateStep", on_delete=models.PROTECT, related_name="+", verbose_name=_("步骤")
    )
    to_step = models.ForeignKey(
        "consultation.TemplateStep",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("进入步骤"),
    )
    note = models.CharField(_("说明"), max_length=500, blank=True)
    data = models.JSONField(_("详情"), default=dict, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("议题记录")
        verbose_name_plural = _("议题记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.topic_id} {self.get_kind_display()}"


class Attachment(models.Model):
    """A photo for a step (公示照片) or a meeting's minutes (re-encoded, EXIF stripped)."""

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="attachments")
    step = models.ForeignKey("consultation.TemplateStep", on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey(
        "consultation.Meeting", on_delete=models.PROTECT, null=True, blank=True, related_name="attachments"
    )
    image = models.ImageField(_("照片"), upload_to="consultation/%Y/%m/")
    thumbnail = models.ImageField(_("缩略图"), upload_to="consultation/thumbs/%Y/%m/", blank=True)
    caption = models.CharField(_("说明"), max_length=150, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附件照片")
        verbose_name_plural = _("附件照片")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.caption or self.image.name
