"""The 四分三单三激励 points ledger (design §6).

Money-like invariants, each held by the database where it can be:
- every `Transaction` has entries whose amounts sum to zero (service check + a deferred
  constraint trigger on PostgreSQL, migration 0002);
- entries are append-only (a trigger refuses UPDATE/DELETE on PostgreSQL); a mistake is
  corrected by a reversing transaction;
- a stored balance never goes below zero (`CHECK`), and equals the sum of its entries
  (`manage.py points_verify`);
- issuance, hold and settlement accounts keep no stored balance: their balance is derived
  from entries, so the row every award, order or verification touches is never a hot lock.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.models import path_index
from qionglai.core.uploads import RandomName
from qionglai.users.models import PATH_VALIDATOR, Role


class HolderClass(models.TextChoices):
    """四分: the four classes of holder."""

    ORG = "org", _("党组织")
    PARTY_MEMBER = "party_member", _("党员")
    WORKER = "worker", _("社区工作者")
    RESIDENT = "resident", _("居民")


# The grant role that makes a person eligible for each personal class.
CLASS_ROLE = {
    HolderClass.PARTY_MEMBER: Role.PARTY_MEMBER,
    HolderClass.WORKER: Role.COMMUNITY_STAFF,
    HolderClass.RESIDENT: Role.RESIDENT,
}


class AccountKind(models.TextChoices):
    HOLDER = "holder", _("积分账户")
    ISSUANCE = "issuance", _("发放账户")
    HOLD = "hold", _("兑换冻结账户")
    SETTLEMENT = "settlement", _("商户结算账户")
    POOL = "pool", _("社区捐赠池")


# Accounts whose balance is derived from entries and never stored or locked: every award in a
# community draws on one issuance account, every order at a merchant lands in one hold account
# and every verification there credits one settlement account. Stored, each would be a single
# hot row serialising its whole community or merchant; none of them has a floor to protect.
DERIVED_KINDS = frozenset({AccountKind.ISSUANCE, AccountKind.HOLD, AccountKind.SETTLEMENT})


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("正常")
    SUSPENDED = "suspended", _("暂停兑换")


class Account(models.Model):
    kind = models.CharField(_("类型"), max_length=12, choices=AccountKind.choices, default=AccountKind.HOLDER)
    holder_class = models.CharField(_("类别"), max_length=16, choices=HolderClass.choices, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_accounts",
        verbose_name=_("持有人"),
    )
    # 党组织 accounts are held by an organisation (a grid party organisation's code), not a user.
    org_code = models.CharField(_("组织编码"), max_length=64, blank=True)
    name = models.CharField(_("名称"), max_length=100)
    merchant = models.ForeignKey(
        "Merchant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        verbose_name=_("商户"),
    )
    path = models.CharField(_("所属社区路径"), max_length=120, validators=[PATH_VALIDATOR])
    balance = models.BigIntegerField(_("余额"), default=0)
    status = models.CharField(
        _("状态"), max_length=10, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    suspended_until = models.DateTimeField(_("暂停至"), null=True, blank=True)
    created_at = models.DateTimeField(_("开户时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("积分账户")
        verbose_name_plural = _("积分账户")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="points_account_balance_not_negative"),
            # derived accounts never carry a stored balance: their figure is sum(entries)
            models.CheckConstraint(
                condition=~Q(kind__in=["issuance", "hold", "settlement"]) | Q(balance=0),
                name="points_derived_account_no_stored_balance",
            ),
            models.CheckConstraint(
                condition=~Q(kind="holder") | ~Q(holder_class=""),
                name="points_holder_account_has_class",
            ),
            models.UniqueConstraint(
                fields=["user", "holder_class"],
                condition=Q(kind="holder", user__isnull=False),
                name="points_one_account_per_person_class",
            ),
            models.UniqueConstraint(
                fields=["org_code"],
                condition=Q(kind="holder", holder_class="org"),
                name="points_one_account_per_org",
            ),
            models.UniqueConstraint(
                fields=["kind", "path"],
                condition=Q(kind__in=["issuance", "pool"]),
                name="points_one_system_account_per_community",
            ),
            models.UniqueConstraint(
                fields=["kind", "merchant"],
                condition=Q(kind__in=["hold", "settlement"]),
                name="points_one_merchant_account_per_kind",
            ),
        ]
        indexes = [
            path_index("points_account"),
            models.Index(fields=["kind", "holder_class"], name="points_account_kind"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_derived(self) -> bool:
        return self.kind in DERIVED_KINDS

    def redemption_suspended(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == AccountStatus.SUSPENDED and (
            self.suspended_until is None or self.suspended_until > now
        )


class RuleList(models.TextChoices):
    """三单: the three lists."""

    POSITIVE = "positive", _("正面清单")
    NEGATIVE = "negative", _("负面清单")
    PROHIBITED = "prohibited", _("禁止清单")


class CapPeriod(models.TextChoices):
    MONTH = "month", _("每月")
    YEAR = "year", _("每年")


class ExcludeScope(models.TextChoices):
    THIS_YEAR = "this_year", _("当年")
    NEXT_YEAR = "next_year", _("当年及次年")


class Rule(models.Model):
    """One line of the three lists, editable in the admin (data, not code)."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    list_kind = models.CharField(_("清单"), max_length=12, choices=RuleList.choices)
    points = models.PositiveIntegerField(_("分值"))
    unit = models.CharField(_("计分单位"), max_length=20, default="次")
    classes = models.JSONField(_("适用类别"), default=list, help_text=_('如 ["resident", "party_member"]'))
    cap = models.PositiveIntegerField(_("周期上限（分）"), null=True, blank=True)
    cap_period = models.CharField(
        _("上限周期"), max_length=8, choices=CapPeriod.choices, default=CapPeriod.YEAR
    )
    evidence_required = models.BooleanField(_("需上传佐证"), default=False)
    approver_role = models.CharField(
        _("审核角色"), max_length=32, choices=Role.choices, default=Role.COMMUNITY_STAFF
    )
    publicity_days = models.PositiveSmallIntegerField(_("公示天数"), default=3)
    # Which domain event awards this rule automatically, e.g. "incident_verified.reporter".
    source_event = models.CharField(_("系统事件"), max_length=60, blank=True, db_index=True)
    auto_effective = models.BooleanField(_("系统事件直接生效"), default=False)
    sanction_redeem_months = models.PositiveSmallIntegerField(_("暂停兑换（月）"), default=0)
    sanction_exclude = models.CharField(
        _("取消评先评优资格"), max_length=10, choices=ExcludeScope.choices, blank=True
    )
    active = models.BooleanField(_("启用"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("积分规则")
        verbose_name_plural = _("积分规则（三单）")
        ordering = ["list_kind", "order", "code"]

    def __str__(self) -> str:
        return f"[{self.get_list_kind_display()}] {self.name}"

    def applies_to(self, holder_class: str) -> bool:
        return not self.classes or holder_class in self.classes


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待审核")
    PUBLICITY = "publicity", _("公示中")
    OBJECTED = "objected", _("异议处理中")
    EFFECTIVE = "effective", _("已生效")
    REJECTED = "rejected", _("未通过")
    REVOKED = "revoked", _("异议成立已撤销")


class Claim(models.Model):
    """申报 → 审核 → 公示 → 生效, for earning and deductions alike."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="claims", verbose_name=_("账户")
    )
    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="claims", verbose_name=_("规则"))
    quantity = models.PositiveSmallIntegerField(_("数量"), default=1)
    points = models.PositiveIntegerField(_("申报分值"))
    points_awarded = models.IntegerField(_("实际计分"), null=True, blank=True)
    note = models.CharField(_("事由"), max_length=300)
    evidence = models.ImageField(_("佐证照片"), upload_to=RandomName("points/evidence"), blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.SUBMITTED
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("申报人"),
    )
    on_behalf = models.BooleanField(_("代录"), default=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_note = models.CharField(_("审核意见"), max_length=300, blank=True)
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    publicity_ends_at = models.DateTimeField(_("公示截止"), null=True, blank=True)
    effective_at = models.DateTimeField(_("生效时间"), null=True, blank=True)
    # A system event awards once: the source event's key (e.g. "incident:42:reporter").
    source_key = models.CharField(_("来源事件"), max_length=120, null=True, blank=True, unique=True)
    transaction = models.OneToOneField(
        "Transaction", on_delete=models.PROTECT, null=True, blank=True, related_name="claim"
    )
    path = models.CharField(_("路径"), max_length=120)
    created_at = models.DateTimeField(_("申报时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("积分申报")
        verbose_name_plural = _("积分申报")
        ordering = ["-created_at", "-id"]
        indexes = [
            path_index("points_claim"),
            # the publicity sweep reads only open windows
            models.Index(
                fields=["publicity_ends_at"],
                condition=Q(status="publicity"),
                name="points_claim_publicity_due",
            ),
            models.Index(fields=["status", "path"], name="points_claim_status"),
        ]

    def __str__(self) -> str:
        return f"{self.account} · {self.rule.name}"


class ObjectionStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    UPHELD = "upheld", _("异议成立")
    DISMISSED = "dismissed", _("异议不成立")


class Objection(models.Model):
    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, related_name="objections", verbose_name=_("申报")
    )
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("异议理由"), max_length=300)
    status = models.CharField(
        _("状态"), max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(_("处理意见"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("提出时间"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("公示异议")
        verbose_name_plural = _("公示异议")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim"], condition=Q(status="open"), name="points_one_open_objection_per_claim"
            )
        ]

    def __str__(self) -> str:
        return self.reason


class TxKind(models.TextChoices):
    EARN = "earn", _("获得积分")
    DEDUCT = "deduct", _("扣减积分")
    REDEEM_HOLD = "redeem_hold", _("兑换冻结")
    REDEEM_SETTLE = "redeem_settle", _("兑换核销")
    REDEEM_REFUND = "redeem_refund", _("兑换退回")
    DONATE = "donate", _("积分捐赠")
    POOL_GRANT = "pool_grant", _("捐赠池发放")
    EXPIRE = "expire", _("积分过期")
    ADJUST = "adjust", _("冲正调整")


class Transaction(models.Model):
    kind = models.CharField(_("类型"), max_length=14, choices=TxKind.choices)
    idempotency_key = models.CharField(_("幂等键"), max_length=160, unique=True)
    memo = models.CharField(_("说明"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("经办人"),
    )
    on_behalf = models.BooleanField(_("代录"), default=False)
    path = models.CharField(_("路径"), max_length=120)
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("冲正对象"),
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("积分交易")
        verbose_name_plural = _("积分交易")
        ordering = ["-created_at", "-id"]
        indexes = [path_index("points_tx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class Entry(models.Model):
    """One leg of a transaction. Append-only.

    `amount` moves the balance; `score_delta` moves the 评先评优 score. Only earn, deduct and
    their reversals carry a score, so spending can never lower it.
    """

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField(_("变动"))
    score_delta = models.BigIntegerField(_("计分变动"), default=0)
    balance_after = models.BigIntegerField(_("变动后余额"), null=True, blank=True)
    # copied from the transaction so history and score queries read one table
    kind = models.CharField(_("类型"), max_length=14, choices=TxKind.choices)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("分录")
        verbose_name_plural = _("分录")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "created_at"], name="points_entry_account_time")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0) | ~Q(score_delta=0), name="points_entry_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+d}"


class Sanction(models.Model):
    """A prohibited-list hit: score zeroed for the year, redemption suspended, excluded from
    评先评优 for this year (or this and the next)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="sanctions")
    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="sanctions")
    claim = models.OneToOneField(
        Claim, on_delete=models.PROTECT, null=True, blank=True, related_name="sanction"
    )
    reason = models.CharField(_("事由"), max_length=300)
    year = models.PositiveSmallIntegerField(_("所属年度"))
    excluded_until_year = models.PositiveSmallIntegerField(_("取消评优至（年度）"))
    redeem_suspended_until = models.DateTimeField(_("暂停兑换至"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("处理时间"), auto_now_add=True)
    path = models.CharField(_("路径"), max_length=120)

    class Meta:
        verbose_name = _("禁止清单处理")
        verbose_name_plural = _("禁止清单处理")
        ordering = ["-created_at", "-id"]
        indexes = [path_index("points_sanction")]

    def __str__(self) -> str:
        return f"{self.account} · {self.rule.name}"


class MerchantKind(models.TextChoices):
    SIGNED = "signed", _("签约商户")
    CHARITY = "charity", _("爱心超市")
    SHARED = "shared", _("共享超市")


class Merchant(models.Model):
    """A place that accepts points. Its counter operators are users with a Grant role
    "merchant" whose `unit` is this merchant's code."""

    code = models.CharField(_("编码"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(
        _("类型"), max_length=8, choices=MerchantKind.choices, default=MerchantKind.SIGNED
    )
    path = models.CharField(_("所属社区路径"), max_length=120, validators=[PATH_VALIDATOR])
    address = models.CharField(_("地址"), max_length=200, blank=True)
    active = models.BooleanField(_("签约有效"), default=True)
    created_at = models.DateTimeField(_("签约时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("兑换商户")
        verbose_name_plural = _("兑换商户")
        ordering = ["path", "code"]
        indexes = [path_index("points_merchant")]

    def __str__(self) -> str:
        return self.name


class Offer(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="offers")
    title = models.CharField(_("兑换项目"), max_length=100)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    price = models.PositiveIntegerField(_("所需积分"))
    stock = models.IntegerField(_("库存"))
    per_person_limit = models.PositiveSmallIntegerField(_("每人限兑"), default=0, help_text=_("0 表示不限"))
    valid_from = models.DateTimeField(_("开始"), null=True, blank=True)
    valid_until = models.DateTimeField(_("截止"), null=True, blank=True)
    active = models.BooleanField(_("上架"), default=True)
    path = models.CharField(_("路径"), max_length=120)

    class Meta:
        verbose_name = _("兑换项目")
        verbose_name_plural = _("兑换项目")
        ordering = ["price", "id"]
        indexes = [path_index("points_offer")]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="points_offer_stock_not_negative"),
            models.CheckConstraint(condition=Q(price__gt=0), name="points_offer_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.title}（{self.price} 分）"

    def is_open(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.active
            and (self.valid_from is None or self.valid_from <= now)
            and (self.valid_until is None or now < self.valid_until)
        )


class RedemptionStatus(models.TextChoices):
    HELD = "held", _("待核销")
    SETTLED = "settled", _("已核销")
    CANCELLED = "cancelled", _("已取消")
    EXPIRED = "expired", _("已过期退回")


class Redemption(models.Model):
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="redemptions")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="redemptions")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="redemptions")
    quantity = models.PositiveSmallIntegerField(_("数量"), default=1)
    points = models.PositiveIntegerField(_("积分"))
    code = models.CharField(_("核销码"), max_length=6)
    status = models.CharField(
        _("状态"), max_length=10, choices=RedemptionStatus.choices, default=RedemptionStatus.HELD
    )
    idempotency_key = models.CharField(_("幂等键"), max_length=120, unique=True)
    expires_at = models.DateTimeField(_("核销期限"))
    hold_tx = models.OneToOneField(Transaction, on_delete=models.PROTECT, related_name="+")
    close_tx = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("下单时间"), default=timezone.now)
    path = models.CharField(_("路径"), max_length=120)

    class Meta:
        verbose_name = _("兑换订单")
        verbose_name_plural = _("兑换订单")
        ordering = ["-created_at", "-id"]
        constraints = [
            # the counter finds an order by its code: unique among a merchant's open orders
            models.UniqueConstraint(
                fields=["merchant", "code"], condition=Q(status="held"), name="points_open_code_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(status="held"), name="points_redemption_due"),
            models.Index(fields=["account", "offer"], name="points_redemption_person"),
        ]

    def __str__(self) -> str:
        return f"{self.offer.title} × {self.quantity}"


class Donation(models.Model):
    from_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="donations_made")
    to_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="donations_received")
    amount = models.PositiveIntegerField(_("积分"))
    note = models.CharField(_("留言"), max_length=200, blank=True)
    transaction = models.OneToOneField(Transaction, on_delete=models.PROTECT, related_name="donation")
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("积分捐赠")
        verbose_name_plural = _("积分捐赠")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_account} → {self.to_account} {self.amount}"


class PoolGrant(models.Model):
    pool = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="pool_grants")
    to_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="pool_grants_received")
    amount = models.PositiveIntegerField(_("积分"))
    reason = models.CharField(_("发放理由"), max_length=300)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    transaction = models.OneToOneField(Transaction, on_delete=models.PROTECT, related_name="pool_grant")
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("捐赠池发放")
        verbose_name_plural = _("捐赠池发放")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.pool} → {self.to_account} {self.amount}"


class ExpiryMode(models.TextChoices):
    NEVER = "never", _("永久有效")
    ROLLING = "rolling", _("滚动 N 个月")
    YEAR_END = "year_end", _("年底清零")


class ExpiryScheme(models.Model):
    """Which points lapse, per place (the longest matching path wins; none → never)."""

    name = models.CharField(_("名称"), max_length=100)
    path = models.CharField(_("适用范围路径"), max_length=120, unique=True, validators=[PATH_VALIDATOR])
    mode = models.CharField(_("方式"), max_length=10, choices=ExpiryMode.choices, default=ExpiryMode.NEVER)
    months = models.PositiveSmallIntegerField(_("有效月数"), default=12)

    class Meta:
        verbose_name = _("积分有效期方案")
        verbose_name_plural = _("积分有效期方案")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name
