from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Append-only record of a change (or of a read of personal data) anywhere in the platform.

    Domain histories (IncidentEvent, ledger entries…) carry the detail of their own flows;
    this table answers "who did what, where, when" across all of them.
    """

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    action = models.CharField(_("动作"), max_length=64, db_index=True)
    target_type = models.CharField(_("对象类型"), max_length=64)
    target_id = models.CharField(_("对象编号"), max_length=64)
    path = models.CharField(_("范围路径"), max_length=120, blank=True)
    summary = models.CharField(_("摘要"), max_length=255, blank=True)
    data = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type}#{self.target_id}"


class Notification(models.Model):
    """In-app inbox item for a user (design §4 notifications). Keyed so a retried sender
    never delivers the same notice twice."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("收件人"),
    )
    key = models.CharField(_("去重键"), max_length=160)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内通知")
        verbose_name_plural = _("站内通知")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_key")]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_user_unread"),
        ]

    def __str__(self) -> str:
        return self.title


class OwedNotice(models.Model):
    """A notice owed to a user (design §12: the outbox). Written in the same transaction as the
    change that owes it, so a lost broker message, a killed worker or a flushed Redis cannot
    lose it: `deliver_owed` turns it into the inbox row (and a mail) and stamps it, and a beat
    sweep picks up whatever no task delivered. (user, key) is unique, as the inbox row is, so
    owing the same notice twice or delivering it twice changes nothing."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("收件人")
    )
    key = models.CharField(_("去重键"), max_length=160)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("送达站内信时间"), null=True, blank=True)
    mail_pending = models.BooleanField(_("待发邮件"), default=False)
    attempts = models.PositiveSmallIntegerField(_("投递次数"), default=0)
    last_error = models.CharField(_("最近错误"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("待投递通知")
        verbose_name_plural = _("待投递通知")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="owed_notice_once_per_key")]
        indexes = [
            # the sweep's consumers: undelivered rows and rows whose mail is still owed
            models.Index(
                fields=["created_at"], name="owed_notice_undelivered", condition=Q(delivered_at__isnull=True)
            ),
            models.Index(
                fields=["created_at"], name="owed_notice_mail_pending", condition=Q(mail_pending=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.user_id}"
