"""points subscribes to grids' and consultation's signals; we send them ourselves with the
documented kwargs (never importing those apps' models)."""

import pytest
from django.db import transaction

from consultation.signals import participant_attended, participant_spoke, supervision_recorded
from grids.signals import incident_verified
from points.models import Account, Claim, ClaimStatus, HolderClass, Transaction
from qionglai.users.models import Role

from ..factories import GrantFactory

pytestmark = pytest.mark.django_db


def _verified(rita, alice, community_a, key="incident:42:verified"):
    incident_verified.send(
        sender=None,
        incident_id=42,
        reporter_id=rita.pk,
        party_member_ids=[alice.pk],
        community_path=community_a.path + ".g01.m01",
        event_key=key,
    )


def test_a_verified_incident_awards_the_reporter_and_the_party_members_once(
    rita, alice, community_a, django_capture_on_commit_callbacks
):
    GrantFactory(user=alice, role=Role.PARTY_MEMBER, path=community_a.path)
    with django_capture_on_commit_callbacks(execute=True):
        _verified(rita, alice, community_a)
    with django_capture_on_commit_callbacks(execute=True):
        _verified(rita, alice, community_a)  # a duplicate delivery
    rita_account = Account.objects.get(user=rita, holder_class=HolderClass.RESIDENT)
    alice_account = Account.objects.get(user=alice, holder_class=HolderClass.PARTY_MEMBER)
    assert rita_account.balance == 5 and alice_account.balance == 5
    assert rita_account.path == community_a.path  # the micro-grid path folds into its community
    assert Claim.objects.filter(status=ClaimStatus.EFFECTIVE).count() == 2
    assert Transaction.objects.count() == 2


def test_nothing_is_awarded_when_the_senders_transaction_rolls_back(
    rita, alice, community_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                _verified(rita, alice, community_a)
                raise RuntimeError("grids rolled back")
        except RuntimeError:
            pass
    assert callbacks == []
    assert not Claim.objects.exists()


@pytest.mark.parametrize(
    ("signal", "points"), [(participant_attended, 3), (participant_spoke, 2), (supervision_recorded, 3)]
)
def test_consultation_events_award_once_per_topic_and_person(
    signal, points, rita, community_a, django_capture_on_commit_callbacks
):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            signal.send(
                sender=None,
                topic_id=7,
                user_id=rita.pk,
                community_path=community_a.path,
                event_key=f"topic:7:{rita.pk}:{signal!r}",
            )
    account = Account.objects.get(user=rita)
    assert account.balance == points


def test_inside_remembered_awards_read_the_rules_and_the_issuance_account_once_and_award_the_same(
    rita, alice, community_a, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """The demo build awards inside `ledger.remembered()`: the second award in a community reads
    neither the source's rules nor the issuance account again, and awards exactly as outside."""
    from points.services import award_event, ledger

    with django_capture_on_commit_callbacks(execute=True):
        _verified(rita, alice, community_a, key="incident:1:verified")  # outside: the reference
    outside = list(Claim.objects.order_by("pk").values_list("rule__code", "points", "status"))
    with ledger.remembered():
        with django_capture_on_commit_callbacks(execute=True):
            _verified(rita, alice, community_a, key="incident:2:verified")  # reads and remembers
        with django_capture_on_commit_callbacks(execute=True):
            incident_verified.send(
                sender=None,
                incident_id=3,
                reporter_id=rita.pk,
                party_member_ids=[],
                community_path=community_a.path,
                event_key="incident:3:verified",
            )
        # the same award again (a duplicate delivery): the grants with their user (one join),
        # the account, then the claim found — and no rule read (outside the block it is 4, below)
        with django_assert_num_queries(3):
            award_event(
                source="incident_verified.reporter",
                user_id=rita.pk,
                community_path=community_a.path,
                event_key=f"incident:3:verified:reporter:{rita.pk}",
            )
    with django_assert_num_queries(4):  # the rules read again
        award_event(
            source="incident_verified.reporter",
            user_id=rita.pk,
            community_path=community_a.path,
            event_key=f"incident:3:verified:reporter:{rita.pk}",
        )
    claims = list(Claim.objects.order_by("pk").values_list("rule__code", "points", "status"))
    assert claims[: len(outside)] == outside
    assert claims[len(outside) :][: len(outside)] == outside  # incident 2 awarded as incident 1 was
    rita_account = Account.objects.get(user=rita, holder_class=HolderClass.RESIDENT)
    assert rita_account.balance == 15  # three reports, 5 each
    assert ledger._memo is None  # forgotten after the block
