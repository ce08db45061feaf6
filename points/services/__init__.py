"""Every state change in points. Split by sub-domain; import from here."""

from .claims import (
    award_event,
    claim_close,
    claim_object,
    claim_review,
    claim_submit,
    claims_close_due,
    objection_resolve,
)
from .donation import donation_code_for, donation_make, donation_recipient, pool_grant, recipient_label
from .ledger import (
    InsufficientPoints,
    Leg,
    account_for_person,
    account_open,
    accounts_ensure_for,
    issuance_for,
    once,
    org_account_open,
    pool_for,
    post,
    system_account,
)
from .maintenance import account_expire, expiry_run, transaction_reverse
from .merchants import merchant_create, offer_create, offer_restock
from .redemption import (
    merchants_of,
    redemption_cancel,
    redemption_find_for_counter,
    redemption_order,
    redemption_verify,
    redemptions_expire_due,
)
from .sanctions import sanction_apply

__all__ = [
    "InsufficientPoints",
    "Leg",
    "account_expire",
    "account_for_person",
    "account_open",
    "accounts_ensure_for",
    "award_event",
    "claim_close",
    "claim_object",
    "claim_review",
    "claim_submit",
    "claims_close_due",
    "donation_code_for",
    "donation_make",
    "donation_recipient",
    "expiry_run",
    "issuance_for",
    "merchant_create",
    "merchants_of",
    "objection_resolve",
    "offer_create",
    "offer_restock",
    "once",
    "org_account_open",
    "pool_for",
    "pool_grant",
    "post",
    "recipient_label",
    "redemption_cancel",
    "redemption_find_for_counter",
    "redemption_order",
    "redemption_verify",
    "redemptions_expire_due",
    "sanction_apply",
    "system_account",
    "transaction_reverse",
]
