"""An award's reads before its insert: the account and whether the award was made come in one
statement, so a first delivery looks up no claim before inserting it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from points.models import Account, Claim, ClaimStatus, HolderClass
from points.services import account_open, award_event

pytestmark = pytest.mark.django_db

SOURCE = "incident_verified.reporter"


def _award(rita, community_a, key):
    return award_event(
        source=SOURCE, user_id=rita.pk, community_path=community_a.path, event_key=f"{key}:reporter:{rita.pk}"
    )


def test_a_first_award_into_an_open_account_reads_no_claim_before_its_insert(rita, community_a):
    account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path)
    with CaptureQueriesContext(connection) as ctx:
        (claim,) = _award(rita, community_a, "incident:1:verified")
    sqls = [q["sql"] for q in ctx.captured_queries]
    insert = next(i for i, sql in enumerate(sqls) if sql.startswith('INSERT INTO "points_claim"'))
    # the person with their grants, the rules, the account with whether it was awarded — no
    # claim looked up on its own
    assert not [sql for sql in sqls[:insert] if sql.startswith('SELECT "points_claim"')]
    (account_read,) = [sql for sql in sqls[:insert] if sql.startswith('SELECT "points_account"')]
    assert "EXISTS" in account_read
    assert claim.status == ClaimStatus.EFFECTIVE and claim.points_awarded == 5


def test_a_repeated_award_finds_its_claim_and_writes_nothing(rita, community_a):
    (first,) = _award(rita, community_a, "incident:1:verified")
    with CaptureQueriesContext(connection) as ctx:
        (again,) = _award(rita, community_a, "incident:1:verified")
    assert again.pk == first.pk
    assert not [q for q in ctx.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))]
    assert Account.objects.get(user=rita, holder_class=HolderClass.RESIDENT).balance == 5


def test_an_award_whose_claim_exists_under_another_class_returns_that_claim(rita, community_a):
    """The key decides, not the account: a claim made while the person held another class is
    found (the insert collides on source_key inside `once`), and nothing is posted twice."""
    (first,) = _award(rita, community_a, "incident:1:verified")
    Account.objects.filter(pk=first.account_id).update(holder_class=HolderClass.PARTY_MEMBER)
    (again,) = _award(rita, community_a, "incident:1:verified")
    assert again.pk == first.pk
    assert Claim.objects.count() == 1


def test_a_first_award_to_a_person_without_an_account_opens_it_with_one_look(rita, community_a):
    with CaptureQueriesContext(connection) as ctx:
        (claim,) = _award(rita, community_a, "incident:1:verified")
    sqls = [q["sql"] for q in ctx.captured_queries]
    opened = next(i for i, sql in enumerate(sqls) if sql.startswith('INSERT INTO "points_account"'))
    # the one look (with whether it was awarded) before the account's insert, not a second one
    assert len([sql for sql in sqls[:opened] if sql.startswith('SELECT "points_account"')]) == 1
    assert claim.account.user_id == rita.pk and claim.account.holder_class == HolderClass.RESIDENT


def test_an_unseen_open_of_an_account_that_exists_returns_it(rita, community_a):
    """`unseen=True` inserts first; an account opened meanwhile collides and is read instead."""
    first = account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path)
    again = account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path, unseen=True)
    assert again.pk == first.pk
    assert Account.objects.filter(user=rita, holder_class=HolderClass.RESIDENT).count() == 1
