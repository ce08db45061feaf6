"""Family-doctor teams and their pairings with micro-grids (医网结对)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from projects.models import path_index

from .places import Grid

USER = settings.AUTH_USER_MODEL


class DoctorTeam(models.Model):
    name = models.CharField(_("团队名称"), max_length=100)
    institution = models.CharField(_("所属医疗机构"), max_length=100, blank=True)
    community = models.ForeignKey(
        "projects.Community",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="doctor_teams",
        verbose_name=_("所在社区"),
    )
    path = models.CharField(_("路径"), max_length=120)
    grids = models.ManyToManyField(
        Grid, through="DoctorPairing", related_name="doctor_teams", verbose_name=_("结对微网格")
    )

    class Meta:
        verbose_name = _("家庭医生团队")
        verbose_name_plural = _("家庭医生团队")
        ordering = ["path", "name"]
        indexes = [path_index("doctorteam")]

    def __str__(self) -> str:
        return self.name


class DoctorRole(models.TextChoices):
    DOCTOR = "doctor", _("全科医生")
    NURSE = "nurse", _("护士")
    PUBLIC_HEALTH = "public_health", _("公卫人员")
    OTHER = "other", _("其他")


class DoctorTeamMember(models.Model):
    team = models.ForeignKey(
        DoctorTeam, on_delete=models.CASCADE, related_name="members", verbose_name=_("团队")
    )
    name = models.CharField(_("姓名"), max_length=50)
    role = models.CharField(_("职责"), max_length=16, choices=DoctorRole.choices, default=DoctorRole.DOCTOR)
    user = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    is_lead = models.BooleanField(_("团队长"), default=False)

    class Meta:
        verbose_name = _("团队成员")
        verbose_name_plural = _("团队成员")
        ordering = ["team", "-is_lead", "id"]

    def __str__(self) -> str:
        return self.name


class DoctorPairing(models.Model):
    """互认结对: a doctor team paired with a micro-grid for a period."""

    team = models.ForeignKey(
        DoctorTeam, on_delete=models.PROTECT, related_name="pairings", verbose_name=_("团队")
    )
    grid = models.ForeignKey(
        Grid, on_delete=models.PROTECT, related_name="doctor_pairings", verbose_name=_("微网格")
    )
    started_on = models.DateField(_("结对日期"))
    ended_on = models.DateField(_("解除日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("医网结对")
        verbose_name_plural = _("医网结对")
        ordering = ["grid", "-started_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "grid"], condition=Q(ended_on__isnull=True), name="pairing_unique_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team} ↔ {self.grid}"
