"""Read queries shared by pages, API and dashboard; joins decided here once, lists scoped by
the access module."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from qionglai.users import access

from .models import (
    Account,
    AccountKind,
    Claim,
    ClaimStatus,
    Entry,
    HolderClass,
    Merchant,
    Objection,
    ObjectionStatus,
    Offer,
    Redemption,
    Sanction,
    TxKind,
)
from .services.periods import local_year, year_bounds


def my_accounts(*, user) -> QuerySet[Account]:
    """The holder's own accounts (a person may hold several classes)."""
    if not getattr(user, "is_authenticated", False):
        return Account.objects.none()
    return Account.objects.filter(kind=AccountKind.HOLDER, user_id=user.pk).order_by("holder_class", "id")


def account_list_for(*, user) -> QuerySet[Account]:
    """Accounts the user may read: their own, plus every account in a place where they may
    read the ledger (community/town/city staff)."""
    own = Q(user_id=user.pk, kind=AccountKind.HOLDER)
    q = access.scope_q(user, "points.view")
    return Account.objects.filter(own if q is None else own | q).select_related("user").order_by("id")


def scores(*, account_ids: list[int], year: int) -> dict[int, int]:
    """评先评优 score per account for `year`: the sum of score deltas (earn/deduct and their
    reversals only), zero for an account sanctioned that year. One query each."""
    start, end = year_bounds(year)
    rows = (
        Entry.objects.filter(account_id__in=account_ids, created_at__gte=start, created_at__lt=end)
        .exclude(score_delta=0)
        .values("account_id")
        .annotate(score=Sum("score_delta"))
    )
    out = dict.fromkeys(account_ids, 0)
    out.update({r["account_id"]: r["score"] for r in rows})
    for pk in Sanction.objects.filter(account_id__in=account_ids, year=year).values_list(
        "account_id", flat=True
    ):
        out[pk] = 0
    return out


def score_of(account: Account, year: int | None = None) -> int:
    year = year or local_year()
    return scores(account_ids=[account.pk], year=year)[account.pk]


def history(*, account: Account) -> QuerySet[Entry]:
    """The account's entries, newest first, with the transaction's memo and who recorded it."""
    return (
        Entry.objects.filter(account=account)
        .select_related("transaction", "transaction__actor", "transaction__claim", "transaction__claim__rule")
        .order_by("-created_at", "-id")
    )


DEMO_MARKS = ("（示范数据）", "(示范数据)")


def plain_note(text: str) -> str:
    """A note as residents read it: the demo builder's 「（示范数据）」 marker is for staff
    reviewing the demo data, never for the person whose history it is."""
    for mark in DEMO_MARKS:
        text = text.replace(mark, "")
    return text.strip()


@dataclass
class HistoryLine:
    entry: Entry
    title: str  # what earned or spent the points, said once
    detail: str  # the note or state, '' when it would only repeat the title
    url: str  # the incident, topic, order or claim it came from ('' if none)
    link_label: str


def _source_url(source_key: str) -> tuple[str, str]:
    """The page a system award came from: incident:42:… → the incident, consultation:…:12:… →
    the topic (its meetings and minutes are there)."""
    parts = (source_key or "").split(":")
    try:
        if parts[0] == "incident":
            return reverse("grids:incident-detail", args=[int(parts[1])]), "查看事件"
        if parts[0] == "consultation":
            return reverse("consultation:topic-detail", args=[int(parts[2])]), "查看议题"
    except (IndexError, ValueError, NoReverseMatch):
        pass
    return "", ""


def history_lines(entries) -> list[HistoryLine]:
    """One readable line per history entry (a page of `history()`): one query for the orders
    the page's redemption entries belong to; claims come with the entries."""
    entries = list(entries)
    tx_ids = [e.transaction_id for e in entries if e.kind in (TxKind.REDEEM_HOLD, TxKind.REDEEM_REFUND)]
    orders = {}
    if tx_ids:
        for r in Redemption.objects.filter(
            Q(hold_tx_id__in=tx_ids) | Q(close_tx_id__in=tx_ids)
        ).select_related("offer", "merchant"):
            orders[r.hold_tx_id] = r
            if r.close_tx_id:
                orders[r.close_tx_id] = r
    lines = []
    for e in entries:
        tx = e.transaction
        claim = getattr(tx, "claim", None)
        order = orders.get(e.transaction_id)
        if claim is not None:
            note = plain_note(claim.note)
            system = note == f"系统记录：{claim.rule.name}"
            url, label = _source_url(claim.source_key or "")
            if not url:
                url, label = reverse("points:my-claims"), "查看申报"
            lines.append(HistoryLine(e, claim.rule.name, "" if system else note, url, label))
        elif order is not None:
            what = f"{order.offer.title} × {order.quantity}（{order.merchant.name}）"
            url = reverse("points:order", args=[order.pk])
            if e.kind == TxKind.REDEEM_REFUND:
                lines.append(HistoryLine(e, f"兑换退回：{what}", order.get_status_display(), url, "查看订单"))
            else:
                lines.append(HistoryLine(e, f"兑换：{what}", order.get_status_display(), url, "查看订单"))
        else:
            lines.append(HistoryLine(e, plain_note(tx.memo) or e.get_kind_display(), "", "", ""))
    return lines


def offers_open(*, path: str | None = None) -> QuerySet[Offer]:
    """Offers a holder can order now; those in `path` (the holder's community) first."""
    now = timezone.now()
    qs = (
        Offer.objects.filter(active=True, merchant__active=True, stock__gt=0)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=now))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("merchant")
    )
    if path:
        near = Case(
            When(Q(path=path) | Q(path__startswith=path + "."), then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return qs.annotate(near=near).order_by("near", "price", "id")
    return qs.order_by("price", "id")


def derived_balance(account: Account) -> int:
    """The balance of an issuance, hold or settlement account: the sum of its entries."""
    return Entry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0


def settled_points(*, merchants: list[Merchant]) -> dict[int, int]:
    """Points settled to each merchant so far (its settlement account's entries)."""
    rows = (
        Entry.objects.filter(account__kind=AccountKind.SETTLEMENT, account__merchant__in=merchants)
        .values("account__merchant_id")
        .annotate(s=Sum("amount"))
    )
    return {r["account__merchant_id"]: r["s"] for r in rows}


def my_redemptions(*, user) -> QuerySet[Redemption]:
    return (
        Redemption.objects.filter(account__user_id=user.pk)
        .select_related("offer", "merchant")
        .order_by("-created_at", "-id")
    )


def merchant_redemptions(*, merchants: list[Merchant]) -> QuerySet[Redemption]:
    return (
        Redemption.objects.filter(merchant__in=merchants)
        .select_related("offer", "account", "account__user")
        .order_by("-created_at", "-id")
    )


def claim_list_for(*, user, status: str | None = None) -> QuerySet[Claim]:
    qs = Claim.objects.select_related("account", "account__user", "rule", "submitted_by")
    if status:
        qs = qs.filter(status=status)
    return access.scope(qs, user, "points.view").order_by("-created_at", "-id")


def my_claims(*, user) -> QuerySet[Claim]:
    return (
        Claim.objects.filter(account__user_id=user.pk)
        .select_related("rule", "account", "submitted_by")
        .order_by("-created_at", "-id")
    )


def publicity_list(*, path: str) -> QuerySet[Claim]:
    """The public list of a community: claims in publicity (names and items only)."""
    return (
        Claim.objects.filter(
            Q(path=path) | Q(path__startswith=path + "."),
            status__in=[ClaimStatus.PUBLICITY, ClaimStatus.OBJECTED],
        )
        .select_related("account", "rule")
        .order_by("publicity_ends_at", "id")
    )


def objection_list_for(*, user) -> QuerySet[Objection]:
    qs = Objection.objects.select_related("claim", "claim__account", "claim__rule", "raised_by")
    return access.scope(qs, user, "points.view", "claim__path").order_by(
        Case(When(status=ObjectionStatus.OPEN, then=Value(0)), default=Value(1)), "-created_at"
    )


def sanction_list_for(*, user) -> QuerySet[Sanction]:
    qs = Sanction.objects.select_related("account", "rule", "created_by")
    return access.scope(qs, user, "points.view").order_by("-created_at", "-id")


@dataclass
class RankRow:
    rank: int
    account: Account
    score: int
    place: str = ""  # 镇街 › 社区, filled by the page (qionglai.core.places)


@dataclass
class Excluded:
    account: Account
    score: int
    reason: str
    place: str = ""


def ranking(
    *, user, holder_class: str, path: str, year: int, limit: int = 100
) -> tuple[list[RankRow], list[Excluded]]:
    """评先评优: holders of a class under `path` ranked by the year's score; sanctioned holders
    are left out and returned separately with the reason (for staff). Three queries."""
    if not access.can(user, "points.view", path):
        return [], []
    start, end = year_bounds(year)
    totals = (
        Entry.objects.filter(
            Q(account__path=path) | Q(account__path__startswith=path + "."),
            account__kind=AccountKind.HOLDER,
            account__holder_class=holder_class,
            created_at__gte=start,
            created_at__lt=end,
        )
        .exclude(score_delta=0)
        .values("account_id")
        .annotate(score=Sum("score_delta"))
        .filter(score__gt=0)
        .order_by("-score", "account_id")
    )
    sanctions = {
        s.account_id: s
        for s in Sanction.objects.filter(
            Q(account__path=path) | Q(account__path__startswith=path + "."),
            account__holder_class=holder_class,
            year__lte=year,
            excluded_until_year__gte=year,
        ).select_related("rule")
    }
    rows = list(totals[: limit + len(sanctions)])
    accounts = Account.objects.select_related("user").in_bulk(
        [r["account_id"] for r in rows] + list(sanctions)
    )
    ranked: list[RankRow] = []
    for r in rows:
        if r["account_id"] in sanctions:
            continue
        if len(ranked) < limit:
            ranked.append(RankRow(rank=len(ranked) + 1, account=accounts[r["account_id"]], score=r["score"]))
    by_id = {r["account_id"]: r["score"] for r in rows}
    excluded = [
        Excluded(
            account=accounts[pk],
            score=by_id.get(pk, 0),
            reason=f"{s.year} 年因「{s.rule.name}」取消评先评优资格至 {s.excluded_until_year} 年底",
        )
        for pk, s in sanctions.items()
        if pk in accounts
    ]
    return ranked, excluded


def totals(*, path: str | None = None) -> dict[str, int]:
    """Ledger figures for dashboards: earned, deducted, redeemed, donated (points)."""
    qs = Entry.objects.filter(account__kind=AccountKind.HOLDER)
    if path:
        qs = qs.filter(Q(account__path=path) | Q(account__path__startswith=path + "."))
    agg = qs.aggregate(
        earned=Sum("amount", filter=Q(kind="earn")),
        deducted=Sum("amount", filter=Q(kind="deduct")),
        donated=Sum("amount", filter=Q(kind="donate", amount__lt=0)),
    )
    redemptions = Redemption.objects.filter(status="settled")
    if path:
        redemptions = redemptions.filter(Q(path=path) | Q(path__startswith=path + "."))
    return {
        "earned": agg["earned"] or 0,
        "deducted": -(agg["deducted"] or 0),
        "donated": -(agg["donated"] or 0),
        "redemptions": redemptions.aggregate(n=Count("id"))["n"],
    }


def by_class_month(*, path: str | None = None, start, end) -> dict[tuple[str, object], dict[str, int]]:
    """totals()'s figures (same rules) per holder class and local month, for entries made and
    redemptions settled in [start, end), plus how many accounts earned (read-only, for the
    dashboard). Keys: (holder_class, first day of the month)."""
    from django.db.models.functions import TruncMonth

    tz = timezone.get_current_timezone()
    entries = Entry.objects.filter(
        account__kind=AccountKind.HOLDER, created_at__gte=start, created_at__lt=end
    )
    redemptions = Redemption.objects.filter(status="settled", closed_at__gte=start, closed_at__lt=end)
    if path:
        entries = entries.filter(Q(account__path=path) | Q(account__path__startswith=path + "."))
        redemptions = redemptions.filter(Q(path=path) | Q(path__startswith=path + "."))
    out: dict[tuple[str, object], dict[str, int]] = {}

    def row(holder_class, month) -> dict[str, int]:
        key = (holder_class, month.date() if hasattr(month, "date") else month)
        return out.setdefault(
            key, {"earned": 0, "deducted": 0, "donated": 0, "redeemed": 0, "redemptions": 0, "earners": 0}
        )

    for r in (
        entries.annotate(month=TruncMonth("created_at", tzinfo=tz))
        .values("account__holder_class", "month")
        .annotate(
            earned=Sum("amount", filter=Q(kind="earn")),
            deducted=Sum("amount", filter=Q(kind="deduct")),
            donated=Sum("amount", filter=Q(kind="donate", amount__lt=0)),
            earners=Count("account", filter=Q(kind="earn", amount__gt=0), distinct=True),
        )
        .order_by()
    ):
        v = row(r["account__holder_class"], r["month"])
        v["earned"] += r["earned"] or 0
        v["deducted"] += -(r["deducted"] or 0)
        v["donated"] += -(r["donated"] or 0)
        v["earners"] += r["earners"]
    for r in (
        redemptions.annotate(month=TruncMonth("closed_at", tzinfo=tz))
        .values("account__holder_class", "month")
        .annotate(n=Count("id"), points=Sum("points"))
        .order_by()
    ):
        v = row(r["account__holder_class"], r["month"])
        v["redeemed"] += r["points"] or 0
        v["redemptions"] += r["n"]
    return out


HOLDER_CLASSES = HolderClass.choices
