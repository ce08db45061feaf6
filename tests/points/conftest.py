"""Points fixtures on top of the named cast: merchant m1 (mike's counter) in community A with
an offer, rita's resident account, and `credit()` to give an account points through the
ledger (an earn from the community's issuance account, exactly as a claim would)."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction

from points import services
from points.models import HolderClass, Merchant, MerchantKind, Offer, Rule, TxKind
from points.services import Leg

_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The cast's passwords are hashed per test; the production hasher's cost is not what these
    # tests are about and would dominate the suite's runtime.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def credit(account, amount: int, *, score: bool = True):
    """Earn `amount` points into `account` (test helper; claims do this in production)."""
    with transaction.atomic():
        return services.post(
            kind=TxKind.EARN,
            key=f"test-credit:{next(_keys)}:{account.pk}",
            legs=[
                Leg(services.issuance_for(account.path), -amount),
                Leg(account, amount, amount if score else 0),
            ],
            path=account.path,
            memo="测试入账",
        )


def ensure_default_rules() -> None:
    """The default three lists come from a data migration; a transactional test elsewhere in
    the run flushes every table, so tests that need them put them back (idempotent)."""
    if Rule.objects.exists():
        return
    from importlib import import_module

    from django.apps import apps

    import_module("points.migrations.0003_seed_default_rules").seed(apps, None)


@pytest.fixture(autouse=True)
def _default_rules(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        ensure_default_rules()


@pytest.fixture(params=["one statement", "portable"])
def redemption_path(request, monkeypatch):
    """Runs a test through both order/verify paths: PostgreSQL's one set-based statement and
    the portable ORM path (what the SQLite demo runs, and every refusal's fallback)."""
    from points.services import redemption

    monkeypatch.setattr(redemption, "SET_BASED", request.param == "one statement")
    return request.param


@pytest.fixture
def merchant_m1(community_a):
    return Merchant.objects.create(
        code="m1", name="洪川便民超市", kind=MerchantKind.SIGNED, path=community_a.path
    )


@pytest.fixture
def merchant_m2(community_b):
    return Merchant.objects.create(
        code="m2", name="南街爱心超市", kind=MerchantKind.CHARITY, path=community_b.path
    )


@pytest.fixture
def offer(merchant_m1):
    return Offer.objects.create(
        merchant=merchant_m1, title="洗衣液一瓶", price=30, stock=100, path=merchant_m1.path
    )


@pytest.fixture
def rita_account(rita, community_a):
    return services.account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path)


@pytest.fixture
def rule(db):
    return Rule.objects.get(code="P11")  # 邻里互助 10 分, no evidence needed


def rule_of(code: str) -> Rule:
    return Rule.objects.get(code=code)


def photo(name: str = "evidence.png"):
    """A small real PNG upload (evidence photos are decoded and re-encoded)."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 40)).save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")
