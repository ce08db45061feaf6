"""Two grants racing for the same yuan on real PostgreSQL: one wins, the fund never goes negative."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from projects import services
from projects.models import FundEntry


@pytest.mark.django_db(transaction=True)
def test_it_lets_only_one_of_two_concurrent_grants_spend_the_same_money(carol, community_a, monkeypatch):
    monkeypatch.setitem(services.APPROVAL_CHECKS, "test", lambda ref, fund, amount: None)
    fund = community_a.fund
    services.fund_inflow(actor=carol, fund=fund, kind="donation", amount="100", idempotency_key="seed")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def grant(n: int) -> None:
        try:
            barrier.wait()
            services.fund_grant(
                actor=carol, fund=fund, amount="70", approval_ref=f"test:{n}", idempotency_key=f"g{n}"
            )
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=grant, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["ok", "refused"]
    fund.refresh_from_db()
    assert fund.balance == Decimal("30.00")
    assert sum(e.amount for e in FundEntry.objects.filter(fund=fund)) == fund.balance
