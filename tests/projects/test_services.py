from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from projects import services
from projects.models import Compound, FundEntry, MicroFund, RenewalStatus, SharedSupermarket, SupermarketMonth
from qionglai.core.errors import ApplicationError
from qionglai.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def vouch(monkeypatch):
    """A stand-in approval authority for the 'test' prefix (consultation registers the real one)."""
    monkeypatch.setitem(services.APPROVAL_CHECKS, "test", lambda ref, fund, amount: None)


def test_it_rejects_an_invalid_compound_with_chinese_field_errors_and_writes_nothing(carol, community_a):
    with pytest.raises(ValidationError) as caught:
        services.compound_create(actor=carol, community=community_a, code="ok1", name="", kind="castle")
    errors = caught.value.message_dict
    assert "name" in errors and "kind" in errors
    assert any("不能为空" in m or "空白" in m for m in errors["name"]), errors
    assert not Compound.objects.filter(code="ok1").exists()
    assert not AuditEvent.objects.filter(action="compound.create").exists()


def test_it_audits_each_registry_change(carol, community_a):
    compound = services.compound_create(
        actor=carol, community=community_a, code="k9", name="桂花苑", kind="commercial"
    )
    event = AuditEvent.objects.get(action="compound.create")
    assert (event.actor, event.path, event.target_id) == (carol, compound.path, str(compound.pk))


def test_it_moves_a_renewal_project_one_step_at_a_time_and_stops_at_evaluation(carol, community_a):
    project = services.renewal_create(
        actor=carol, community=community_a, name="口袋公园", kind="micro_renewal"
    )
    seen = [project.status]
    for _ in range(4):
        project = services.renewal_advance(actor=carol, project=project)
        seen.append(project.status)
    assert seen == ["planned", "approved", "implementing", "completed", "evaluated"]
    with pytest.raises(ApplicationError) as caught:
        services.renewal_advance(actor=carol, project=project)
    assert caught.value.message == services.MSG_RENEWAL_FINAL
    assert project.events.count() == 5
    assert project.status == RenewalStatus.EVALUATED


def test_it_refuses_an_outsider_advancing_a_project(carol, dave, community_a):
    project = services.renewal_create(
        actor=carol, community=community_a, name="口袋公园", kind="micro_renewal"
    )
    with pytest.raises(PermissionDenied):
        services.renewal_advance(actor=dave, project=project)


def test_it_refuses_a_grant_without_an_approval_it_can_vouch_for(carol, community_a):
    fund = community_a.fund
    services.fund_inflow(actor=carol, fund=fund, kind="donation", amount="100", idempotency_key="d1")
    with pytest.raises(ValidationError) as caught:
        services.fund_grant(actor=carol, fund=fund, amount="10", approval_ref="", idempotency_key="g0")
    assert caught.value.message_dict["approval_ref"] == [services.MSG_GRANT_NEEDS_APPROVAL]
    with pytest.raises(ValidationError) as caught:
        services.fund_grant(
            actor=carol, fund=fund, amount="10", approval_ref="made-up:1", idempotency_key="g1"
        )
    assert caught.value.message_dict["approval_ref"] == [services.MSG_APPROVAL_UNKNOWN]
    assert MicroFund.objects.get(pk=fund.pk).balance == Decimal("100.00")


def test_it_never_lets_a_grant_take_the_fund_below_zero(carol, community_a, vouch):
    fund = community_a.fund
    services.fund_inflow(actor=carol, fund=fund, kind="donation", amount="100", idempotency_key="d1")
    services.fund_grant(actor=carol, fund=fund, amount="60", approval_ref="test:1", idempotency_key="g1")
    with pytest.raises(ValidationError) as caught:
        services.fund_grant(actor=carol, fund=fund, amount="60", approval_ref="test:2", idempotency_key="g2")
    assert caught.value.message_dict["amount"] == ["微基金余额不足（当前余额 40.00 元）"]
    fund.refresh_from_db()
    assert fund.balance == Decimal("40.00")
    assert sum(e.amount for e in fund.entries.all()) == fund.balance


def test_it_posts_a_grant_once_per_idempotency_key(carol, community_a, vouch):
    fund = community_a.fund
    services.fund_inflow(actor=carol, fund=fund, kind="donation", amount="100", idempotency_key="d1")
    first = services.fund_grant(
        actor=carol, fund=fund, amount="30", approval_ref="test:1", idempotency_key="g1"
    )
    again = services.fund_grant(
        actor=carol, fund=fund, amount="30", approval_ref="test:1", idempotency_key="g1"
    )
    assert first.pk == again.pk
    assert MicroFund.objects.get(pk=fund.pk).balance == Decimal("70.00")


@pytest.mark.parametrize("amount", ["0", "-5", "abc", ""])
def test_it_rejects_a_non_positive_or_unreadable_amount(carol, community_a, amount):
    with pytest.raises(ValidationError) as caught:
        services.fund_inflow(
            actor=carol, fund=community_a.fund, kind="donation", amount=amount, idempotency_key="x"
        )
    assert "amount" in caught.value.message_dict
    assert not FundEntry.objects.exists()


def test_it_posts_a_supermarket_month_once_and_refuses_the_second(carol, community_a):
    market = SharedSupermarket.objects.create(
        community=community_a, name="洪川社区共享超市", path=community_a.path
    )
    record = services.supermarket_record_month(
        actor=carol, supermarket=market, month=date(2026, 3, 17), revenue="120000", net_profit="15000.55"
    )
    assert record.month == date(2026, 3, 1)
    assert record.contribution == Decimal("1500.06")  # 10% of net profit, rounded half up
    with pytest.raises(ApplicationError) as caught:
        services.supermarket_record_month(
            actor=carol, supermarket=market, month=date(2026, 3, 2), revenue="1", net_profit="1"
        )
    assert caught.value.message == "2026年03月 的经营数据已登记，不能重复登记"
    assert SupermarketMonth.objects.count() == 1
    assert FundEntry.objects.filter(kind="supermarket").count() == 1
    assert MicroFund.objects.get(pk=community_a.fund.pk).balance == Decimal("1500.06")


def test_it_takes_the_contribution_from_revenue_when_the_basis_says_so(carol, community_a):
    market = SharedSupermarket.objects.create(
        community=community_a,
        name="超市",
        path=community_a.path,
        contribution_basis="revenue",
        contribution_rate=Decimal("0.05"),
    )
    record = services.supermarket_record_month(
        actor=carol, supermarket=market, month=date(2026, 4, 1), revenue="1000", net_profit="-50"
    )
    assert record.contribution == Decimal("50.00")


def test_it_posts_nothing_for_a_loss_making_month(carol, community_a):
    market = SharedSupermarket.objects.create(community=community_a, name="超市", path=community_a.path)
    record = services.supermarket_record_month(
        actor=carol, supermarket=market, month=date(2026, 5, 1), revenue="800", net_profit="-20"
    )
    assert record.contribution == Decimal("0.00")
    assert record.fund_entry is None
    assert not FundEntry.objects.exists()
