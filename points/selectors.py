"""Read queries shared by pages, API and dashboard; joins decided here once, lists scoped by
the access module."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
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
        .select_related("transaction", "transaction__actor")
        .order_by("-created_at", "-id")
    )


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


HOLDER_CLASSES = HolderClass.choices
