"""Read models of the dashboard (design §8), the pattern of zulip's analytics app.

Rollups at the grains where they pay: town × day × category, city × day × category, and
community × day without the category (with it, a community × day × category grain is about as
large as the incident table itself; without, it is what a town's ranking of its communities
sums). The town and community rows are counted in one pass over the day's incidents; the city
rows are summed from the town rows inside the same fill transaction, never re-read.

`FillSlot` is the fill state: one row per day, `dirty` when something in it changed, `started`
while a fill is rewriting it, `done` after. A fill that dies leaves `started` behind, and the
next fill redoes that day whole — so nothing is counted twice. `FillWatermark` is the single row
the fill advances: incidents updated and escalations made since it mark their days dirty.
"""

from __future__ import annotations

import json

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from . import indicators


class Rollup(models.Model):
    day = models.DateField(_("日期"))
    category = models.ForeignKey("grids.Category", on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True


for _column in indicators.COLUMNS:
    _field = (
        models.FloatField(default=0.0)
        if _column in indicators.FLOAT_COLUMNS
        else models.PositiveIntegerField(default=0)
    )
    _field.contribute_to_class(Rollup, _column)


class TownDayCategory(Rollup):
    town = models.ForeignKey("projects.Town", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("镇街日汇总")
        verbose_name_plural = _("镇街日汇总")
        constraints = [
            models.UniqueConstraint(fields=["town", "day", "category"], name="town_day_category_unique")
        ]
        # consumer: a town's figures over a date range (town, day range) and per-day fills
        indexes = [models.Index(fields=["day"], name="town_day_category_day")]

    def __str__(self) -> str:
        return f"{self.town_id} {self.day} {self.category_id}"


class CommunityDay(models.Model):
    """community × day, no category: what a town's ranking of its communities sums (a town's
    year is ~13 communities × 336 days of rows instead of tens of thousands of incidents). With
    the category as well it would be about as large as the incident table; without, it is a
    few rows per community and day."""

    community = models.ForeignKey("projects.Community", on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("日期"))

    class Meta:
        verbose_name = _("社区日汇总")
        verbose_name_plural = _("社区日汇总")
        constraints = [models.UniqueConstraint(fields=["community", "day"], name="community_day_unique")]
        # consumer: per-day fills delete and rewrite one day; the town ranking reads a day range
        indexes = [models.Index(fields=["day"], name="community_day_day")]

    def __str__(self) -> str:
        return f"{self.community_id} {self.day}"


for _column in indicators.COLUMNS:
    _field = (
        models.FloatField(default=0.0)
        if _column in indicators.FLOAT_COLUMNS
        else models.PositiveIntegerField(default=0)
    )
    _field.contribute_to_class(CommunityDay, _column)


class CityDayCategory(Rollup):
    class Meta:
        verbose_name = _("全市日汇总")
        verbose_name_plural = _("全市日汇总")
        constraints = [models.UniqueConstraint(fields=["day", "category"], name="city_day_category_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.category_id}"


class SlotState(models.TextChoices):
    DIRTY = "dirty", _("待汇总")
    STARTED = "started", _("汇总中")
    DONE = "done", _("已汇总")


class FillSlot(models.Model):
    day = models.DateField(_("日期"), unique=True)
    state = models.CharField(_("状态"), max_length=8, choices=SlotState.choices, default=SlotState.DIRTY)
    filled_at = models.DateTimeField(_("汇总时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("汇总进度")
        verbose_name_plural = _("汇总进度")
        ordering = ["day"]
        indexes = [
            # consumer: each fill picks the days left dirty or started
            models.Index(fields=["day"], condition=~models.Q(state="done"), name="fill_slot_pending")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.get_state_display()}"


class FillWatermark(models.Model):
    """One row (name="incidents"). `scanned_to`: changes up to here have marked their days;
    `complete_to`: every figure is true as of this moment (the page's 「数据截至」)."""

    name = models.CharField(max_length=32, unique=True)
    scanned_to = models.DateTimeField(null=True, blank=True)
    complete_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("汇总水位")
        verbose_name_plural = _("汇总水位")

    def __str__(self) -> str:
        return f"{self.name} @ {self.complete_to}"


class UnitKind(models.TextChoices):
    TOWN = "town", _("镇（街道）")
    COMMUNITY = "community", _("村（社区）")
    DEPARTMENT = "department", _("市级部门")


def _weight(label: str, default: int) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        label, default=default, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )


class RankingRule(models.Model):
    """综合指标 weights and the minimum case count, per kind of unit (data, editable)."""

    unit_kind = models.CharField(_("排名对象"), max_length=12, choices=UnitKind.choices, unique=True)
    resolve_on_time_rate = _weight(_("按期办结率权重（%）"), 40)
    satisfaction_rate = _weight(_("满意率权重（%）"), 30)
    accept_on_time_rate = _weight(_("按期受理率权重（%）"), 20)
    rework_rate = _weight(_("返工率权重（%，逆向）"), 10)
    min_cases = models.PositiveIntegerField(_("最少上报件数"), default=20)

    class Meta:
        verbose_name = _("综合指标规则")
        verbose_name_plural = _("综合指标规则")
        ordering = ["unit_kind"]

    def __str__(self) -> str:
        return self.get_unit_kind_display()

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self._forget()

    def delete(self, *args, **kwargs):
        out = super().delete(*args, **kwargs)
        self._forget()
        return out

    @property
    def weights(self) -> dict[str, int]:
        return {key: getattr(self, key) for key, _label, _inv in indicators.RANKING_PARTS}

    # what for_kind keeps in the cache (a computed answer's ranking read the rule each time:
    # one query, ~1.7 ms of the ORM's Python per screen)
    # (its weights are the ranking's parts, so a part added there is cached with the rest)
    CACHED = ("id", *(key for key, _label, _inverted in indicators.RANKING_PARTS), "min_cases")
    CACHE_TTL = 300  # like the places' names: what a save below does not reach (a bulk update)

    @staticmethod
    def cache_key(unit_kind: str) -> str:
        return f"dashboard:ranking-rule:v1:{unit_kind}"

    @classmethod
    def for_kind(cls, unit_kind: str) -> RankingRule:
        """The stored rule, or the design's default if none was saved: from the cache, which a
        save or delete of the rule clears (when its transaction commits)."""
        from . import store

        raw = store.get(cls.cache_key(unit_kind))
        if raw is not None:
            return cls(unit_kind=unit_kind, **json.loads(raw))
        rule = cls.objects.filter(unit_kind=unit_kind).first() or cls(unit_kind=unit_kind)
        kept = {name: getattr(rule, name) for name in cls.CACHED}
        store.set(cls.cache_key(unit_kind), json.dumps(kept).encode(), cls.CACHE_TTL)
        return rule

    def _forget(self) -> None:
        from . import store

        key = self.cache_key(self.unit_kind)
        store.delete(key)
        # again after the commit: a read between the two would have cached the old rule
        transaction.on_commit(lambda: store.delete(key), using=self._state.db)
