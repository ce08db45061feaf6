"""Party units on the grid tree: 网格党组织, 微网格党小组 and the members attached to micro-grids."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from projects.models import path_index

from .places import Grid

USER = settings.AUTH_USER_MODEL


class PartyOrganization(models.Model):
    """一般网格党组织: one per general grid."""

    grid = models.OneToOneField(
        Grid, on_delete=models.PROTECT, related_name="party_organization", verbose_name=_("一般网格")
    )
    name = models.CharField(_("名称"), max_length=100)
    secretary = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("书记")
    )
    path = models.CharField(_("路径"), max_length=120)

    class Meta:
        verbose_name = _("网格党组织")
        verbose_name_plural = _("网格党组织")
        ordering = ["path"]
        indexes = [path_index("partyorg")]

    def __str__(self) -> str:
        return self.name


class PartyGroup(models.Model):
    """微网格党小组 (optional: not every micro-grid has one)."""

    grid = models.OneToOneField(
        Grid, on_delete=models.PROTECT, related_name="party_group", verbose_name=_("微网格")
    )
    organization = models.ForeignKey(
        PartyOrganization, on_delete=models.PROTECT, related_name="groups", verbose_name=_("所属网格党组织")
    )
    name = models.CharField(_("名称"), max_length=100)
    leader = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("组长")
    )
    path = models.CharField(_("路径"), max_length=120)

    class Meta:
        verbose_name = _("微网格党小组")
        verbose_name_plural = _("微网格党小组")
        ordering = ["path"]
        indexes = [path_index("partygroup")]

    def __str__(self) -> str:
        return self.name


class PartyMember(models.Model):
    """A party member attached to a micro-grid (and to its party group where there is one)."""

    user = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="party_memberships", verbose_name=_("党员")
    )
    grid = models.ForeignKey(
        Grid, on_delete=models.PROTECT, related_name="party_members", verbose_name=_("微网格")
    )
    group = models.ForeignKey(
        PartyGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("党小组"),
    )
    path = models.CharField(_("路径"), max_length=120)
    joined_on = models.DateField(_("报到日期"), null=True, blank=True)
    retired_at = models.DateTimeField(_("转出时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("网格党员")
        verbose_name_plural = _("网格党员")
        ordering = ["path", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(retired_at__isnull=True), name="party_member_one_active_grid"
            )
        ]
        indexes = [path_index("partymember")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.grid}"
