"""Procedure templates (design §5): the nine steps are data. A template version is frozen once
a topic runs on it; editing a template in use makes a new version, so running topics keep the
steps they started with."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qionglai.users.models import Role


class StepKind(models.TextChoices):
    """What the engine does in a step; the step's name and rules are the template's."""

    PROPOSE = "propose", _("提议")
    REVIEW = "review", _("审议")
    NOTICE = "notice", _("公示议题")
    DELIBERATE = "deliberate", _("协商")
    VOTE = "vote", _("表决")
    RESOLUTION_NOTICE = "resolution_notice", _("决议公示")
    IMPLEMENT = "implement", _("实施")
    SUPERVISE = "supervise", _("监督")
    EVALUATE = "evaluate", _("评议")


PUBLICITY_KINDS = {StepKind.NOTICE, StepKind.RESOLUTION_NOTICE}


class RecordKind(models.TextChoices):
    SIGN_IN = "sign_in", _("签到表")
    MINUTES = "minutes", _("会议纪要")
    VOTE_RECORD = "vote_record", _("表决记录")
    PUBLICITY_PHOTO = "publicity_photo", _("公示照片")


class QuorumBasis(models.TextChoices):
    INVITED = "invited", _("应到人数（受邀参会人员）")


class PassBasis(models.TextChoices):
    PRESENT = "present", _("实到人数（弃权视为未同意）")
    CAST = "cast", _("投票人数（含弃权）")
    VALID = "valid", _("有效票（不计弃权）")


class ProcedureTemplate(models.Model):
    family = models.CharField(_("模板族"), max_length=40, help_text=_("同一模板的各版本共用此编码"))
    version = models.PositiveIntegerField(_("版本"), default=1)
    name = models.CharField(_("名称"), max_length=100)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    community = models.ForeignKey(
        "projects.Community",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="procedure_templates",
        verbose_name=_("所属社区"),
        help_text=_("为空表示全市默认模板"),
    )
    path = models.CharField(_("路径"), max_length=120, editable=False)
    is_default = models.BooleanField(_("默认模板"), default=False)
    is_current = models.BooleanField(_("当前版本"), default=True)
    cloned_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clones",
        verbose_name=_("复制自"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("议事规则模板")
        verbose_name_plural = _("议事规则模板")
        ordering = ["family", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["family", "version"], name="template_family_version_unique"),
            models.UniqueConstraint(
                fields=["family"], condition=Q(is_current=True), name="template_one_current_per_family"
            ),
            models.UniqueConstraint(
                fields=["community"],
                condition=Q(is_current=True, community__isnull=False),
                name="template_one_current_per_community",
            ),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True, is_current=True),
                name="template_one_current_default",
            ),
        ]

    def __str__(self) -> str:
        label = f"{self.name}（第 {self.version} 版）"
        return f"{label}「默认模板」" if self.is_default else label


class TemplateStep(models.Model):
    template = models.ForeignKey(
        ProcedureTemplate, on_delete=models.PROTECT, related_name="steps", verbose_name=_("模板")
    )
    order = models.PositiveSmallIntegerField(_("顺序"))
    code = models.CharField(_("编码"), max_length=32)
    kind = models.CharField(_("步骤类型"), max_length=20, choices=StepKind.choices)
    name = models.CharField(_("名称"), max_length=40)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    actor_role = models.CharField(_("执行角色"), max_length=32, choices=Role.choices)
    actor_label = models.CharField(_("执行主体"), max_length=60, blank=True)
    required_records = models.JSONField(
        _("必需记录"),
        default=list,
        blank=True,
        help_text=_("签到表 sign_in、会议纪要 minutes、表决记录 vote_record、公示照片 publicity_photo"),
    )
    min_days = models.PositiveSmallIntegerField(_("最短期限（天）"), default=0)
    quorum_basis = models.CharField(
        _("到会基数"), max_length=10, choices=QuorumBasis.choices, default=QuorumBasis.INVITED
    )
    quorum_ratio = models.DecimalField(
        _("到会比例"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.5"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    quorum_strict = models.BooleanField(
        _("须超过该比例"), default=True, help_text=_("勾选为“过半”，不勾选为“达到”")
    )
    pass_basis = models.CharField(
        _("通过基数"), max_length=10, choices=PassBasis.choices, default=PassBasis.PRESENT
    )
    pass_ratio = models.DecimalField(
        _("通过比例"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.5"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    pass_strict = models.BooleanField(_("须超过该比例"), default=True)

    class Meta:
        verbose_name = _("议事步骤")
        verbose_name_plural = _("议事步骤")
        ordering = ["template", "order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "order"], name="step_order_unique"),
            models.UniqueConstraint(fields=["template", "code"], name="step_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    @property
    def is_publicity(self) -> bool:
        return self.kind in PUBLICITY_KINDS

    def quorum_text(self) -> str:
        word = "超过" if self.quorum_strict else "达到"
        return f"实到人数{word}应到人数的 {self.quorum_ratio * 100:.0f}%"

    def pass_text(self) -> str:
        word = "超过" if self.pass_strict else "达到"
        return f"赞成票{word}{PassBasis(self.pass_basis).label.split('（')[0]}的 {self.pass_ratio * 100:.0f}%"
