"""Quorum and pass arithmetic, secret ballots, one ballot per present participant."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections

from consultation import services
from consultation.models import Ballot, ChoiceKind, Invitee, Motion, VoteReceipt
from consultation.services import (
    MSG_ALREADY_VOTED,
    MSG_NOT_PRESENT,
    MSG_VOTE_CLOSED,
    MSG_VOTE_OUTSIDE,
)
from qionglai.core.errors import ApplicationError

HALF = Decimal("0.5")
FOR, AGAINST, ABSTAIN, OPTION_B = 1, 2, 3, 4
KINDS = {FOR: ChoiceKind.FOR, AGAINST: ChoiceKind.AGAINST, ABSTAIN: ChoiceKind.ABSTAIN}


def count(*, invited, present, yes, no=0, abstain=0, basis="present", strict=True):
    return services.tally(
        invited=invited,
        present=present,
        votes={FOR: yes, AGAINST: no, ABSTAIN: abstain},
        kinds=KINDS,
        quorum_ratio=HALF,
        quorum_strict=True,
        pass_basis=basis,
        pass_ratio=HALF,
        pass_strict=strict,
    )


def test_exactly_half_of_the_invited_present_is_no_quorum():
    result = count(invited=10, present=5, yes=5)
    assert not result.quorum_met and not result.passed


def test_one_more_than_half_present_is_a_quorum():
    result = count(invited=10, present=6, yes=6)
    assert result.quorum_met and result.passed


def test_exactly_half_of_those_present_in_favour_does_not_pass():
    assert not count(invited=10, present=8, yes=4, no=4).passed


def test_one_more_than_half_in_favour_passes():
    assert count(invited=10, present=8, yes=5, no=3).passed


def test_abstentions_count_against_when_the_basis_is_those_present():
    result = count(invited=10, present=8, yes=4, no=1, abstain=3)
    assert result.abstain == 3 and result.basis == 8 and not result.passed


def test_abstentions_are_left_out_when_the_basis_is_valid_votes():
    result = count(invited=10, present=8, yes=4, no=1, abstain=3, basis="valid")
    assert result.basis == 5 and result.passed


def test_absent_voters_count_against_on_the_present_basis_but_not_on_the_cast_basis():
    assert not count(invited=10, present=8, yes=3, no=1).passed  # 4 of 8 present did not vote
    assert count(invited=10, present=8, yes=3, no=1, basis="cast").passed


def test_reaching_instead_of_exceeding_lets_exactly_half_pass():
    assert count(invited=10, present=8, yes=4, no=4, strict=False).passed


def test_a_tie_between_options_carries_nothing():
    result = services.tally(
        invited=6,
        present=6,
        votes={FOR: 3, OPTION_B: 3, ABSTAIN: 0},
        kinds={FOR: ChoiceKind.OPTION, OPTION_B: ChoiceKind.OPTION, ABSTAIN: ChoiceKind.ABSTAIN},
        quorum_ratio=HALF,
        quorum_strict=True,
        pass_basis="present",
        pass_ratio=HALF,
        pass_strict=True,
    )
    assert result.winner_id is None and not result.passed


@pytest.mark.django_db
def test_the_service_counts_a_real_vote_and_freezes_it(flow, carol, voters):
    topic = flow.to_vote(present=voters[:4])  # 4 of 5 invited signed in
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="加装充电桩")
    choices = {c.kind: c for c in motion.choices.all()}
    services.vote_cast(actor=voters[0], motion=motion, choice=choices["for"])
    services.vote_cast(actor=voters[1], motion=motion, choice=choices["for"])
    services.vote_cast(actor=voters[2], motion=motion, choice=choices["for"])
    services.vote_cast(actor=voters[3], motion=motion, choice=choices["abstain"])
    live = services.live_count(motion)
    assert (live["present"], live["voted"]) == (4, 4)
    assert [c["votes"] for c in live["choices"]] == [3, 0, 1]
    motion = services.motion_close(actor=carol, motion=motion)
    assert (motion.invited_count, motion.present_count, motion.cast_count, motion.abstain_count) == (
        5,
        4,
        4,
        1,
    )
    assert motion.quorum_met and motion.passed and motion.winner.kind == "for"
    with pytest.raises(ApplicationError) as error:
        services.vote_cast(actor=voters[4], motion=motion, choice=choices["against"])
    assert error.value.message == MSG_VOTE_CLOSED
    assert topic.pk == motion.topic_id


@pytest.mark.django_db
def test_a_vote_on_tabled_options_offers_them_plus_abstain(flow, carol, voters):
    flow.to_vote()
    second = services.option_table(actor=carol, meeting=flow.meeting, text="院坝西侧加装 6 个")
    motion = services.motion_open(
        actor=carol, meeting=flow.meeting, title="选择方案", option_ids=[flow.option.pk, second.pk]
    )
    assert [c.label for c in motion.choices.all()] == [
        "院坝东侧加装 10 个充电桩",
        "院坝西侧加装 6 个",
        "弃权",
    ]


@pytest.mark.django_db
def test_a_secret_ballot_keeps_no_link_from_choice_to_voter(flow, carol, voters):
    flow.to_vote()
    motion = flow.vote(None, secret=True)
    assert VoteReceipt.objects.filter(motion=motion).count() == 5  # who voted is known…
    ballots = Ballot.objects.filter(motion=motion)
    assert ballots.count() == 5
    assert not ballots.exclude(voter=None).exists()  # …how they voted is not
    field_names = {f.name for f in Ballot._meta.get_fields()}
    assert field_names == {"id", "motion", "choice", "voter"}  # no timestamp to line up with receipts
    assert all(isinstance(b.pk, type(ballots[0].pk)) and b.pk.version == 4 for b in ballots)


@pytest.mark.django_db
def test_a_secret_ballot_shows_no_running_split(flow, carol, voters):
    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="无记名", secret=True)
    services.vote_cast(actor=voters[0], motion=motion, choice=motion.choices.get(kind="for"))
    live = services.live_count(motion)
    assert live["voted"] == 1 and live["choices"] == []


@pytest.mark.django_db
def test_it_refuses_a_second_ballot_from_the_same_person(flow, carol, voters):
    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    services.vote_cast(actor=voters[0], motion=motion, choice=motion.choices.get(kind="for"))
    with pytest.raises(ApplicationError) as error:
        services.vote_cast(actor=voters[0], motion=motion, choice=motion.choices.get(kind="against"))
    assert error.value.message == MSG_ALREADY_VOTED
    assert Ballot.objects.filter(motion=motion).count() == 1


@pytest.mark.django_db
def test_only_those_signed_in_may_vote(flow, carol, voters):
    flow.to_vote(present=voters[:3])
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    with pytest.raises(ApplicationError) as error:
        services.vote_cast(actor=voters[4], motion=motion, choice=motion.choices.get(kind="for"))
    assert error.value.message == MSG_NOT_PRESENT


@pytest.mark.django_db
def test_a_resident_of_community_b_cannot_vote_in_community_a(flow, carol, voters, ursula):
    flow.to_vote()
    # Even slipped onto the sign-in sheet by hand, the outsider's ballot is refused.
    Invitee.objects.create(meeting=flow.meeting, user=ursula, name="厄休拉", category="resident_rep")
    Invitee.objects.filter(user=ursula).update(signed_in_at=flow.meeting.opened_at)
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    with pytest.raises(ApplicationError) as error:
        services.vote_cast(actor=ursula, motion=motion, choice=motion.choices.get(kind="for"))
    assert error.value.message == MSG_VOTE_OUTSIDE
    assert not VoteReceipt.objects.filter(voter=ursula).exists()


@pytest.mark.django_db
def test_an_outsider_cannot_be_invited_as_a_voting_member(flow, carol, ursula):
    from django.core.exceptions import ValidationError

    topic = flow.to_notice()
    with pytest.raises(ValidationError):
        flow.schedule(topic, invite=[ursula])


@pytest.mark.django_db(transaction=True)
def test_double_voting_is_refused_even_from_two_devices_at_once(flow, carol, voters):
    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="并发表决")
    choices = list(motion.choices.filter(kind__in=["for", "against"]))
    voter = voters[0]
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def cast(choice):
        try:
            barrier.wait()
            services.vote_cast(actor=voter, motion=motion, choice=choice)
            outcomes.append("ok")
        except ApplicationError as error:
            outcomes.append(error.message)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=cast, args=(choices[i % 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted(["ok"] + [MSG_ALREADY_VOTED] * 5)
    assert VoteReceipt.objects.filter(motion=motion, voter=voter).count() == 1
    assert Ballot.objects.filter(motion=motion).count() == 1
    assert Motion.objects.get(pk=motion.pk).status == "open"
