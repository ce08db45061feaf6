from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from points import selectors, services
from points.models import Claim, ClaimStatus, Entry, HolderClass, ObjectionStatus, Transaction
from qionglai.core.errors import ApplicationError

from .conftest import credit, photo, rule_of

pytestmark = pytest.mark.django_db


def _approved(carol, rita_account, rule):
    claim = services.claim_submit(actor=rita_account.user, account=rita_account, rule=rule, note="帮邻居搬家")
    return services.claim_review(actor=carol, claim=claim, approve=True)


def test_it_takes_a_claim_through_review_and_publicity_to_effect(carol, rita_account, rule):
    claim = services.claim_submit(actor=rita_account.user, account=rita_account, rule=rule, note="帮邻居搬家")
    assert claim.status == ClaimStatus.SUBMITTED and not claim.on_behalf
    claim = services.claim_review(actor=carol, claim=claim, approve=True)
    assert claim.status == ClaimStatus.PUBLICITY
    assert services.claims_close_due() == 0  # window still open
    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=1)):
        assert services.claims_close_due() == 1
    claim.refresh_from_db()
    rita_account.refresh_from_db()
    assert claim.status == ClaimStatus.EFFECTIVE and claim.points_awarded == 10
    assert rita_account.balance == 10
    assert selectors.score_of(rita_account, claim.effective_at.year) == 10


def test_the_publicity_window_closes_once_even_if_beat_fires_twice(carol, rita_account, rule):
    claim = _approved(carol, rita_account, rule)
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        assert services.claims_close_due() == 1
        assert services.claims_close_due() == 0
        assert services.claim_close(claim_id=claim.pk) is False
    assert Transaction.objects.filter(idempotency_key=f"claim:{claim.pk}").count() == 1
    rita_account.refresh_from_db()
    assert rita_account.balance == 10


def test_an_objection_during_publicity_stops_the_claim(carol, alice, rita_account, rule):
    claim = _approved(carol, rita_account, rule)
    objection = services.claim_object(actor=alice, claim=claim, reason="当天并未见到搬家")
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        assert services.claims_close_due() == 0
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.OBJECTED
    services.objection_resolve(actor=carol, objection=objection, uphold=True, note="经核实不属实")
    claim.refresh_from_db()
    objection.refresh_from_db()
    assert claim.status == ClaimStatus.REVOKED and objection.status == ObjectionStatus.UPHELD
    rita_account.refresh_from_db()
    assert rita_account.balance == 0


def test_a_dismissed_objection_lets_the_claim_take_effect_after_its_window(carol, alice, rita_account, rule):
    claim = _approved(carol, rita_account, rule)
    objection = services.claim_object(actor=alice, claim=claim, reason="疑似重复")
    services.objection_resolve(actor=carol, objection=objection, uphold=False, note="核实无误")
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        assert services.claims_close_due() == 1


def test_nobody_can_object_after_the_window_or_from_another_community(carol, bob, alice, rita_account, rule):
    claim = _approved(carol, rita_account, rule)
    with pytest.raises(PermissionDenied):
        services.claim_object(actor=bob, claim=claim, reason="外社区")
    with time_machine.travel(timezone.now() + timedelta(days=3, seconds=1)), pytest.raises(ApplicationError):
        services.claim_object(actor=alice, claim=claim, reason="太晚了")


def test_a_resident_cannot_record_a_negative_item_but_staff_can_on_their_behalf(carol, rita_account):
    with pytest.raises(PermissionDenied):
        services.claim_submit(actor=rita_account.user, account=rita_account, rule=rule_of("N04"), note="x")
    claim = services.claim_submit(
        actor=carol, account=rita_account, rule=rule_of("P12"), note="防汛值守 2 天", quantity=2
    )
    assert claim.on_behalf and claim.points == 20


def test_code_for_an_other_community_is_refused(dave, rita_account, rule):
    with pytest.raises(PermissionDenied):
        services.claim_submit(actor=dave, account=rita_account, rule=rule, note="越权代录")


def test_a_negative_item_lowers_balance_not_below_zero_and_score_by_the_full_points(
    carol, alice, rita_account
):
    credit(rita_account, 3)
    claim = services.claim_submit(
        actor=carol, account=rita_account, rule=rule_of("N03"), note="占用消防通道", evidence=photo()
    )
    services.claim_review(actor=carol, claim=claim, approve=True)
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        services.claims_close_due()
    rita_account.refresh_from_db()
    assert rita_account.balance == 0
    assert selectors.score_of(rita_account) == 3 - 10


def test_the_cap_per_period_limits_what_a_rule_awards(carol, rita_account):
    rule = rule_of("P01")
    rule.cap, rule.evidence_required, rule.publicity_days = 12, False, 0
    rule.save()
    for _ in range(3):
        claim = services.claim_submit(
            actor=rita_account.user, account=rita_account, rule=rule, note="志愿服务"
        )
        services.claim_review(actor=carol, claim=claim, approve=True)
    rita_account.refresh_from_db()
    assert rita_account.balance == 12
    assert sorted(Claim.objects.values_list("points_awarded", flat=True)) == [2, 5, 5]
    assert sum(Claim.objects.values_list("points_awarded", flat=True)) == 12


def test_a_rule_that_needs_evidence_refuses_a_claim_without_a_photo(rita_account):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        services.claim_submit(actor=rita_account.user, account=rita_account, rule=rule_of("P01"), note="志愿")
    assert "evidence" in error.value.error_dict


def test_one_cannot_review_a_claim_on_ones_own_account(carol, community_a):
    account = services.account_open(user=carol, holder_class=HolderClass.WORKER, path=community_a.path)
    claim = services.claim_submit(actor=carol, account=account, rule=rule_of("P11"), note="调解纠纷")
    with pytest.raises(ApplicationError):
        services.claim_review(actor=carol, claim=claim, approve=True)


def test_history_shows_an_on_behalf_entry_as_such(carol, rita_account):
    rule = rule_of("P12")
    rule.publicity_days = 0
    rule.save()
    claim = services.claim_submit(actor=carol, account=rita_account, rule=rule, note="防汛巡查")
    services.claim_review(actor=carol, claim=claim, approve=True)
    entry = selectors.history(account=rita_account).get()
    assert entry.transaction.on_behalf and entry.transaction.actor == carol
    assert Entry.objects.filter(transaction=entry.transaction).count() == 2


def test_the_beat_task_closes_due_windows(carol, rita_account, rule):
    from points import tasks

    _approved(carol, rita_account, rule)
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        assert tasks.close_publicity.apply().get() == 1
        assert tasks.close_publicity.apply().get() == 0


def test_the_admin_lists_rules_and_shows_the_ledger_read_only(root, rita_account, client):
    from .conftest import credit

    credit(rita_account, 5)
    client.force_login(root)
    assert client.get("/admin/points/rule/").status_code == 200
    assert client.get("/admin/points/transaction/").status_code == 200
    assert client.get("/admin/points/transaction/add/").status_code == 403
