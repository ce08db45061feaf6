"""The 小圆桌 meeting of the 协商 step, and the votes held in it."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("待召开")
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class Meeting(models.Model):
    topic = models.ForeignKey("consultation.Topic", on_delete=models.PROTECT, related_name="meetings")
    title = models.CharField(_("会议名称"), max_length=120)
    location = models.CharField(_("地点"), max_length=120, blank=True)
    scheduled_at = models.DateTimeField(_("召开时间"))
    agenda = models.TextField(_("议程"), blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED
    )
    minutes = models.TextField(_("会议纪要"), blank=True)
    default_speech_seconds = models.PositiveSmallIntegerField(_("每人发言时限（秒）"), default=180)
    opened_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("小圆桌会议")
        verbose_name_plural = _("小圆桌会议")
        ordering = ["-scheduled_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["topic"],
                condition=Q(status__in=["scheduled", "open"]),
                name="meeting_one_open_per_topic",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class InviteeCategory(models.TextChoices):
    RESIDENT_REP = "resident_rep", _("居民代表")
    PARTY_MEMBER = "party_member", _("党员")
    PROPERTY = "property", _("物业企业")
    SOCIAL_WORKER = "social_worker", _("社工")
    DEPARTMENT = "department", _("部门工作人员")
    STAFF = "staff", _("社区工作者")


class Invitee(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="invitees")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("姓名"), max_length=50)
    category = models.CharField(_("身份"), max_length=16, choices=InviteeCategory.choices)
    signed_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    signed_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("参会人员")
        verbose_name_plural = _("参会人员")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "user"], condition=Q(user__isnull=False), name="invitee_once_per_meeting"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def present(self) -> bool:
        return self.signed_in_at is not None

    @property
    def voting(self) -> bool:
        """A voting member is invited as a person of the community (with an account); a 列席
        guest is invited by name and has no vote, and counts neither in 应到 nor in 实到."""
        return self.user_id is not None


class Speech(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="speeches")
    invitee = models.ForeignKey(Invitee, on_delete=models.PROTECT, related_name="speeches")
    limit_seconds = models.PositiveSmallIntegerField(_("时限（秒）"))
    started_at = models.DateTimeField(_("开始"), null=True, blank=True)
    ended_at = models.DateTimeField(_("结束"), null=True, blank=True)
    summary = models.CharField(_("发言要点"), max_length=500, blank=True)
    cut_off = models.BooleanField(_("时间到自动结束"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("发言")
        verbose_name_plural = _("发言")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.invitee} 发言"

    @property
    def deadline(self):
        """The floor is the speaker's until here and no longer (the limit is the server's)."""
        return self.started_at + timedelta(seconds=self.limit_seconds)

    def running_at(self, at) -> bool:
        return self.ended_at is None and at < self.deadline


class Option(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="options")
    text = models.CharField(_("方案"), max_length=300)
    tabled_by = models.ForeignKey(Invitee, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("方案")
        verbose_name_plural = _("方案")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text


class MotionStatus(models.TextChoices):
    OPEN = "open", _("表决中")
    CLOSED = "closed", _("已结束")


class MotionMethod(models.TextChoices):
    BALLOT = "ballot", _("投票")
    HANDS = "hands", _("举手表决")


class Motion(models.Model):
    """One vote. The quorum and pass rules are copied from the vote step when it opens, and the
    tallies are written once when it closes; after that the motion never changes."""

    topic = models.ForeignKey("consultation.Topic", on_delete=models.PROTECT, related_name="motions")
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="motions")
    title = models.CharField(_("表决事项"), max_length=200)
    secret = models.BooleanField(_("无记名投票"), default=False)
    method = models.CharField(
        _("表决方式"), max_length=8, choices=MotionMethod.choices, default=MotionMethod.BALLOT
    )
    status = models.CharField(
        _("状态"), max_length=8, choices=MotionStatus.choices, default=MotionStatus.OPEN
    )
    quorum_ratio = models.DecimalField(max_digits=4, decimal_places=3)
    quorum_strict = models.BooleanField()
    pass_basis = models.CharField(max_length=10)
    pass_ratio = models.DecimalField(max_digits=4, decimal_places=3)
    pass_strict = models.BooleanField()
    opened_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    invited_count = models.PositiveIntegerField(_("应到"), null=True, blank=True)
    present_count = models.PositiveIntegerField(_("实到"), null=True, blank=True)
    cast_count = models.PositiveIntegerField(_("投票"), null=True, blank=True)
    abstain_count = models.PositiveIntegerField(_("弃权"), null=True, blank=True)
    quorum_met = models.BooleanField(_("达到法定人数"), null=True, blank=True)
    passed = models.BooleanField(_("通过"), null=True, blank=True)
    winner = models.ForeignKey(
        "consultation.MotionChoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("表决")
        verbose_name_plural = _("表决")
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting"], condition=Q(status="open"), name="motion_one_open_per_meeting"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ChoiceKind(models.TextChoices):
    FOR = "for", _("赞成")
    AGAINST = "against", _("反对")
    ABSTAIN = "abstain", _("弃权")
    OPTION = "option", _("方案")


class MotionChoice(models.Model):
    motion = models.ForeignKey(Motion, on_delete=models.PROTECT, related_name="choices")
    kind = models.CharField(max_length=8, choices=ChoiceKind.choices)
    label = models.CharField(_("选项"), max_length=300)
    option = models.ForeignKey(Option, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    order = models.PositiveSmallIntegerField(default=0)
    votes = models.PositiveIntegerField(_("得票"), null=True, blank=True)  # written once, at close

    class Meta:
        verbose_name = _("表决选项")
        verbose_name_plural = _("表决选项")
        ordering = ["motion", "order", "id"]

    def __str__(self) -> str:
        return self.label


class VoteReceipt(models.Model):
    """ "Has voted": one per present participant per motion — the database refuses a second."""

    motion = models.ForeignKey(Motion, on_delete=models.PROTECT, related_name="receipts")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # 代投: the host cast this ballot at the tablet for a present member without a phone.
    proxied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("代投人"),
    )
    cast_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("投票记录")
        verbose_name_plural = _("投票记录")
        constraints = [models.UniqueConstraint(fields=["motion", "voter"], name="vote_once_per_motion")]

    def __str__(self) -> str:
        return f"{self.voter_id} 已投票"


class Ballot(models.Model):
    """The choice. For a secret motion `voter` is empty and the row carries no time and a random
    id; when the motion closes the box is emptied and refilled in random order in the closing
    transaction (votes._reseal_ballots), so neither position nor PostgreSQL's xmin lines a
    ballot up with a receipt."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    motion = models.ForeignKey(Motion, on_delete=models.PROTECT, related_name="ballots")
    choice = models.ForeignKey(MotionChoice, on_delete=models.PROTECT, related_name="ballots")
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("选票")
        verbose_name_plural = _("选票")
        constraints = [
            models.UniqueConstraint(
                fields=["motion", "voter"], condition=Q(voter__isnull=False), name="ballot_once_per_voter"
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)
