"""Admin: the three lists, expiry schemes, merchants and offers are editable data (design §6:
"data, not code"); the ledger, claims and sanctions are read-only here — they change only
through services, and entries only by reversing transactions."""

from django.contrib import admin

from qionglai.users.admin_base import ReadOnlyAdmin

from .models import (
    Account,
    Claim,
    Donation,
    Entry,
    ExpiryScheme,
    Merchant,
    Objection,
    Offer,
    PoolGrant,
    Redemption,
    Rule,
    Sanction,
    Transaction,
)


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "list_kind",
        "points",
        "unit",
        "cap",
        "approver_role",
        "publicity_days",
        "source_event",
        "active",
    ]
    list_filter = ["list_kind", "active", "approver_role"]
    search_fields = ["code", "name"]
    ordering = ["list_kind", "order", "code"]


@admin.register(ExpiryScheme)
class ExpirySchemeAdmin(admin.ModelAdmin):
    list_display = ["name", "path", "mode", "months"]


class OfferInline(admin.TabularInline):
    model = Offer
    extra = 0
    fields = ["title", "price", "stock", "per_person_limit", "valid_from", "valid_until", "active"]
    readonly_fields = ["stock"]  # stock moves with orders; restock through the service


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "path", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name", "path"]
    inlines = [OfferInline]


class EntryInline(admin.TabularInline):
    model = Entry
    extra = 0
    can_delete = False
    fields = ["account", "amount", "score_delta", "balance_after"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "memo", "actor", "on_behalf", "path", "created_at"]
    list_filter = ["kind", "on_behalf"]
    search_fields = ["idempotency_key", "memo", "path"]
    list_select_related = ["actor"]
    inlines = [EntryInline]


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "kind", "holder_class", "path", "balance", "status", "suspended_until"]
    list_filter = ["kind", "holder_class", "status"]
    search_fields = ["name", "path", "user__username", "org_code"]


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "rule",
        "points",
        "points_awarded",
        "status",
        "on_behalf",
        "publicity_ends_at",
    ]
    list_filter = ["status", "on_behalf", "rule__list_kind"]
    list_select_related = ["account", "rule"]


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    list_display = ["id", "claim", "raised_by", "status", "created_at"]
    list_filter = ["status"]


@admin.register(Sanction)
class SanctionAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "rule", "year", "excluded_until_year", "redeem_suspended_until"]


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "offer", "merchant", "account", "points", "status", "created_at", "closed_at"]
    list_filter = ["status", "merchant__kind"]
    list_select_related = ["offer", "merchant", "account"]
    exclude = ["code"]  # the code is the holder's proof at the counter


@admin.register(Donation)
class DonationAdmin(ReadOnlyAdmin):
    list_display = ["id", "from_account", "to_account", "amount", "created_at"]


@admin.register(PoolGrant)
class PoolGrantAdmin(ReadOnlyAdmin):
    list_display = ["id", "pool", "to_account", "amount", "reason", "granted_by", "created_at"]
