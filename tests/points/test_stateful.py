"""Property-based: random sequences of earn / deduct / redeem / cancel / verify / donate /
expire keep every ledger invariant, checked after each step:
no holder balance below zero, every transaction sums to zero, balance == sum(entries), the
balances and scores equal a plain Python model, and spending never moves a score."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from points import selectors, services
from points.management.commands.points_verify import verify
from points.models import Account, ExpiryScheme, Offer, Redemption, RedemptionStatus, Rule
from qionglai.core.errors import ApplicationError
from qionglai.users.models import Grant, Role, User

_run = itertools.count(1)
HOLDERS = 3
EARN, DEDUCT = 10, 7


class LedgerMachine(RuleBasedStateMachine):
    ctx: dict = {}

    def __init__(self):
        super().__init__()
        n = next(_run)
        community, self.carol, merchant = self.ctx["community"], self.ctx["carol"], self.ctx["merchant"]
        self.path = community.path
        self.accounts = []
        for i in range(HOLDERS):
            user = User.objects.create(username=f"h{n}x{i}", real_name=f"居民{n}-{i}")
            Grant.objects.create(user=user, role=Role.RESIDENT, path=self.path)
            self.accounts.append(services.account_open(user=user, holder_class="resident", path=self.path))
        self.pool = services.pool_for(self.path)
        self.offers = [
            Offer.objects.create(merchant=merchant, title=f"o{n}-{p}", price=p, stock=3, path=merchant.path)
            for p in (5, 12)
        ]
        self.balance = [0] * HOLDERS
        self.score = [0] * HOLDERS
        self.stock = [3, 3]
        self.held: list[int] = []
        self.keys = itertools.count(1)
        self.expire_years = itertools.count(2)
        self.earn_rule, self.deduct_rule = Rule.objects.get(code="T-EARN"), Rule.objects.get(code="T-DEDUCT")

    def _claim(self, i, rule, quantity=1):
        claim = services.claim_submit(
            actor=self.carol, account=self.accounts[i], rule=rule, note="性质测试", quantity=quantity
        )
        services.claim_review(actor=self.carol, claim=claim, approve=True)

    @rule(i=st.integers(0, HOLDERS - 1), quantity=st.integers(1, 4))
    def earn(self, i, quantity):
        self._claim(i, self.earn_rule, quantity)
        self.balance[i] += EARN * quantity
        self.score[i] += EARN * quantity

    @rule(i=st.integers(0, HOLDERS - 1))
    def deduct(self, i):
        self._claim(i, self.deduct_rule)
        self.balance[i] -= min(DEDUCT, self.balance[i])
        self.score[i] -= DEDUCT

    @rule(i=st.integers(0, HOLDERS - 1), o=st.integers(0, 1), quantity=st.integers(1, 2))
    def redeem(self, i, o, quantity):
        account, offer = self.accounts[i], self.offers[o]
        try:
            r = services.redemption_order(
                actor=account.user,
                offer=offer,
                account=account,
                idempotency_key=f"r{next(self.keys)}",
                quantity=quantity,
            )
        except ApplicationError:
            assert self.balance[i] < offer.price * quantity or self.stock[o] < quantity
            return
        self.balance[i] -= offer.price * quantity
        self.stock[o] -= quantity
        self.held.append(r.pk)

    @precondition(lambda self: self.held)
    @rule(pick=st.integers(0, 100), settle=st.booleans())
    def close_order(self, pick, settle):
        r = Redemption.objects.select_related("account__user", "merchant").get(
            pk=self.held.pop(pick % len(self.held))
        )
        if settle:
            services.redemption_verify(actor=self.ctx["mike"], code=r.code)
        else:
            services.redemption_cancel(actor=r.account.user, redemption=r)
            i = next(k for k, a in enumerate(self.accounts) if a.pk == r.account_id)
            self.balance[i] += r.points
            self.stock[next(k for k, o in enumerate(self.offers) if o.pk == r.offer_id)] += r.quantity

    @rule(i=st.integers(0, HOLDERS - 1), j=st.integers(-1, HOLDERS - 1), amount=st.integers(1, 40))
    def donate(self, i, j, amount):
        if j == i:
            return
        target = self.pool if j < 0 else self.accounts[j]
        try:
            services.donation_make(
                actor=self.accounts[i].user,
                from_account=self.accounts[i],
                to_account=target,
                amount=amount,
                idempotency_key=f"d{next(self.keys)}",
            )
        except services.InsufficientPoints:
            assert self.balance[i] < amount
            return
        self.balance[i] -= amount
        if j >= 0:
            self.balance[j] += amount

    @rule(i=st.integers(0, HOLDERS - 1))
    def expire(self, i):
        scheme = ExpiryScheme(name="年底清零", path=self.path, mode="year_end")
        later = timezone.now() + timedelta(days=366 * next(self.expire_years))
        services.account_expire(account=self.accounts[i], scheme=scheme, now=later)
        self.balance[i] = 0  # nothing was earned in that future year

    @invariant()
    def balances_and_scores_match_the_model(self):
        accounts = Account.objects.in_bulk([a.pk for a in self.accounts])
        assert [accounts[a.pk].balance for a in self.accounts] == self.balance
        assert all(b >= 0 for b in self.balance)
        year = timezone.localdate().year
        scores = selectors.scores(account_ids=[a.pk for a in self.accounts], year=year)
        assert [scores[a.pk] for a in self.accounts] == self.score
        assert (
            list(
                Offer.objects.filter(pk__in=[o.pk for o in self.offers])
                .order_by("price")
                .values_list("stock", flat=True)
            )
            == self.stock
        )
        assert Redemption.objects.filter(pk__in=self.held, status=RedemptionStatus.HELD).count() == len(
            self.held
        )

    @invariant()
    def the_ledger_verifies(self):
        assert verify() == []


@pytest.mark.django_db
def test_random_sequences_keep_every_invariant(carol, mike, community_a, merchant_m1):
    base = {
        "publicity_days": 0,
        "classes": [],
        "approver_role": "community_staff",
        "evidence_required": False,
    }
    Rule.objects.create(code="T-EARN", name="测试加分", list_kind="positive", points=EARN, **base)
    Rule.objects.create(code="T-DEDUCT", name="测试扣分", list_kind="negative", points=DEDUCT, **base)
    LedgerMachine.ctx = {"carol": carol, "mike": mike, "community": community_a, "merchant": merchant_m1}
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
