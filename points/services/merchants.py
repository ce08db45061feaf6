"""Merchants and their offers (服务兑换 supply side)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.users import access

from ..models import Merchant, Offer
from .ledger import positive_points

MSG_STOCK = "库存不能为负数"
# the columns are 32-bit integers: bounds well inside them, so no input reaches the database
# as an overflow (a DataError would be a 500), and no counter stocks a billion of anything
MAX_STOCK = 1_000_000
MAX_PRICE = 1_000_000
MAX_PER_PERSON = 10_000
MSG_STOCK_TOO_BIG = f"库存不能超过 {MAX_STOCK:,} 份"
MSG_PRICE_TOO_BIG = f"所需积分不能超过 {MAX_PRICE:,} 分"
MSG_PER_PERSON_TOO_BIG = f"每人限兑不能超过 {MAX_PER_PERSON:,} 份"


def _may_manage(actor, merchant: Merchant) -> bool:
    if access.can(actor, "points.manage", merchant.path):
        return True
    return merchant.code in access.units(actor, "merchant") and access.can(
        actor, "points.offer_manage", merchant.path
    )


@transaction.atomic
def merchant_create(*, actor, code: str, name: str, kind: str, path: str, address: str = "") -> Merchant:
    access.require(actor, "points.manage", path)
    merchant = Merchant(
        code=(code or "").strip(), name=(name or "").strip(), kind=kind, path=path, address=address
    )
    merchant.full_clean()
    merchant.save()
    audit_record(actor=actor, action="points.merchant.create", target=merchant, summary=merchant.name)
    return merchant


@transaction.atomic
def offer_create(
    *,
    actor,
    merchant: Merchant,
    title: str,
    price,
    stock,
    per_person_limit: int = 0,
    description: str = "",
    valid_from=None,
    valid_until=None,
) -> Offer:
    if not _may_manage(actor, merchant):
        raise PermissionDenied(access.DENIED_MESSAGE)
    price = positive_points(price, "price")
    if price > MAX_PRICE:
        raise ValidationError({"price": MSG_PRICE_TOO_BIG})
    try:
        stock = int(stock)
    except (TypeError, ValueError):
        raise ValidationError({"stock": MSG_STOCK}) from None
    if stock < 0:
        raise ValidationError({"stock": MSG_STOCK})
    if stock > MAX_STOCK:
        raise ValidationError({"stock": MSG_STOCK_TOO_BIG})
    if (per_person_limit or 0) > MAX_PER_PERSON:
        raise ValidationError({"per_person_limit": MSG_PER_PERSON_TOO_BIG})
    if valid_from and valid_until and valid_until <= valid_from:
        raise ValidationError({"valid_until": "截止时间应晚于开始时间"})
    offer = Offer.objects.create(
        merchant=merchant,
        title=(title or "").strip()[:100],
        description=(description or "")[:300],
        price=price,
        stock=stock,
        per_person_limit=per_person_limit or 0,
        valid_from=valid_from,
        valid_until=valid_until,
        path=merchant.path,
    )
    audit_record(actor=actor, action="points.offer.create", target=offer, summary=str(offer))
    return offer


@transaction.atomic
def offer_restock(*, actor, offer: Offer, change: int) -> Offer:
    """Adds (or with a negative change, removes) stock; never below zero."""
    if not _may_manage(actor, offer.merchant):
        raise PermissionDenied(access.DENIED_MESSAGE)
    change = int(change)
    if change > MAX_STOCK:
        raise ValidationError({"change": MSG_STOCK_TOO_BIG})
    if change < -MAX_STOCK:
        raise ApplicationError(MSG_STOCK)
    # compare-and-set: the new stock stays within 0 … MAX_STOCK whatever else moved it
    rows = Offer.objects.filter(pk=offer.pk, stock__gte=-change, stock__lte=MAX_STOCK - change)
    if not rows.update(stock=F("stock") + change):
        current = Offer.objects.filter(pk=offer.pk).values_list("stock", flat=True).first() or 0
        if current + change > MAX_STOCK:
            raise ValidationError({"change": MSG_STOCK_TOO_BIG})
        raise ApplicationError(MSG_STOCK)
    audit_record(actor=actor, action="points.offer.restock", target=offer, data={"change": change})
    offer.refresh_from_db(fields=["stock"])
    return offer
