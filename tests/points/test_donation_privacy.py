"""Donations name a person by phone or QR code, and the answer masks the name (issue #12 §4)."""

from __future__ import annotations

import pytest

from points import services
from points.models import HolderClass
from points.services.donation import MSG_NO_RECIPIENT
from qionglai.users.models import User

from ..conftest import api_as
from .conftest import credit

pytestmark = pytest.mark.django_db
URL = "/api/v1/points/donations/"


@pytest.fixture
def sun(community_a):
    from tests.factories import GrantFactory, UserFactory

    user = UserFactory(username="sunzhen", real_name="孙珍", phone="13900001111")
    GrantFactory(user=user, role="party_member", path=community_a.path)
    party = services.account_open(user=user, holder_class=HolderClass.PARTY_MEMBER, path=community_a.path)
    resident = services.account_open(user=user, holder_class=HolderClass.RESIDENT, path=community_a.path)
    return user, party, resident


def give(rita_account, key, **target):
    return api_as(rita_account.user).post(
        URL, {"from_account": rita_account.pk, "amount": 1, "idempotency_key": key, **target}, format="json"
    )


def test_a_donation_by_phone_lands_in_the_resident_wallet_and_answers_a_masked_name(rita_account, sun):
    credit(rita_account, 10)
    _, _, resident = sun
    answer = give(rita_account, "p1", to_phone="13900001111")
    assert answer.status_code == 201
    assert answer.json()["to"] == "孙*"
    assert "党员" not in answer.content.decode()
    resident.refresh_from_db()
    assert resident.balance == 1


def test_a_donation_by_the_qr_code_reaches_that_account(rita_account, sun):
    credit(rita_account, 10)
    _, party, _ = sun
    answer = give(rita_account, "q1", to_code=services.donation_code_for(party))
    assert answer.status_code == 201 and answer.json()["to"] == "孙*"
    party.refresh_from_db()
    assert party.balance == 1


def test_an_account_id_no_longer_names_its_holder(rita_account, sun):
    credit(rita_account, 10)
    _, party, _ = sun
    answer = give(rita_account, "i1", to_account=party.pk)
    assert answer.status_code == 400
    assert "孙" not in answer.content.decode()


@pytest.mark.parametrize(
    "target", [{"to_phone": "13900009999"}, {"to_code": "forged:code"}, {"to_phone": "abc"}]
)
def test_an_unknown_phone_or_a_forged_code_is_one_message(rita_account, sun, target):
    credit(rita_account, 10)
    answer = give(rita_account, "u1", **target)
    assert answer.status_code == 400
    assert answer.json()["message"] == MSG_NO_RECIPIENT


def test_an_inactive_person_cannot_be_found_by_phone(rita_account, sun):
    credit(rita_account, 10)
    User.objects.filter(username="sunzhen").update(is_active=False)
    assert give(rita_account, "x1", to_phone="13900001111").status_code == 400
