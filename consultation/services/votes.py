"""Votes: open a motion in the meeting, cast (present participants, once), close and count.

The quorum and pass arithmetic is one pure function, `tally`, so its boundaries are tested
directly and the service, pages and API all show the same figures."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.users import access

from ..models import (
    Ballot,
    ChoiceKind,
    EventKind,
    Invitee,
    Meeting,
    MeetingStatus,
    Motion,
    MotionChoice,
    MotionStatus,
    PassBasis,
    StepKind,
    VoteReceipt,
)
from .common import (
    MSG_ALREADY_VOTED,
    MSG_BAD_CHOICE,
    MSG_MEETING_STATE,
    MSG_MOTION_OPEN,
    MSG_NO_OPTIONS,
    MSG_NOT_PRESENT,
    MSG_VOTE_CLOSED,
    MSG_VOTE_OUTSIDE,
    lock_topic,
    now,
    record_event,
    require_step,
)


def reaches(count: int, base: int, ratio: Decimal, strict: bool) -> bool:
    """count > ratio·base (strict, "过半") or count ≥ ratio·base; exact in Decimal."""
    threshold = Decimal(ratio) * base
    return Decimal(count) > threshold if strict else Decimal(count) >= threshold


@dataclass(frozen=True)
class Tally:
    invited: int
    present: int
    cast: int
    abstain: int
    basis: int
    quorum_met: bool
    winner_id: int | None
    winner_votes: int
    passed: bool


def tally(
    *,
    invited: int,
    present: int,
    votes: dict[int, int],
    kinds: dict[int, str],
    quorum_ratio: Decimal,
    quorum_strict: bool,
    pass_basis: str,
    pass_ratio: Decimal,
    pass_strict: bool,
) -> Tally:
    """`votes`: choice id → ballots; `kinds`: choice id → ChoiceKind. Only a 赞成 or 方案 choice
    can carry a motion; a tie at the top carries nothing."""
    cast = sum(votes.values())
    abstain = sum(n for cid, n in votes.items() if kinds[cid] == ChoiceKind.ABSTAIN)
    basis = {PassBasis.PRESENT: present, PassBasis.CAST: cast, PassBasis.VALID: cast - abstain}[pass_basis]
    quorum_met = invited > 0 and reaches(present, invited, quorum_ratio, quorum_strict)
    carrying = sorted(
        ((n, cid) for cid, n in votes.items() if kinds[cid] in (ChoiceKind.FOR, ChoiceKind.OPTION)),
        reverse=True,
    )
    winner_id, winner_votes = None, 0
    if carrying and carrying[0][0] > 0 and (len(carrying) == 1 or carrying[0][0] > carrying[1][0]):
        winner_votes, winner_id = carrying[0]
    passed = bool(
        quorum_met
        and winner_id is not None
        and basis > 0
        and reaches(winner_votes, basis, pass_ratio, pass_strict)
    )
    return Tally(invited, present, cast, abstain, basis, quorum_met, winner_id, winner_votes, passed)


def motion_open(
    *, actor, meeting: Meeting, title: str, secret: bool = False, option_ids: list[int] | None = None
) -> Motion:
    """Opens a vote in the running meeting with the vote step's rules. Without options it is a
    赞成/反对/弃权 vote; with tabled options each becomes a choice, plus 弃权."""
    topic = meeting.topic
    access.require(actor, "consultation.manage", topic.path)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "请填写表决事项"})
    with transaction.atomic():
        topic = lock_topic(topic)
        step = require_step(topic, StepKind.VOTE)
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if meeting.status != MeetingStatus.OPEN:
            raise ApplicationError(MSG_MEETING_STATE.format(status=meeting.get_status_display(), what="表决"))
        if meeting.motions.filter(status=MotionStatus.OPEN).exists():
            raise ApplicationError(MSG_MOTION_OPEN)
        options = []
        if option_ids:
            options = list(meeting.options.filter(pk__in=option_ids).order_by("id"))
            if len(options) != len(set(option_ids)):
                raise ValidationError({"option_ids": "包含不属于本次会议的方案"})
        elif option_ids is not None:
            raise ValidationError({"option_ids": MSG_NO_OPTIONS})
        motion = Motion.objects.create(
            topic=topic,
            meeting=meeting,
            title=title[:200],
            secret=bool(secret),
            quorum_ratio=step.quorum_ratio,
            quorum_strict=step.quorum_strict,
            pass_basis=step.pass_basis,
            pass_ratio=step.pass_ratio,
            pass_strict=step.pass_strict,
            opened_by=actor,
        )
        if options:
            choices = [
                MotionChoice(motion=motion, kind=ChoiceKind.OPTION, label=o.text, option=o, order=i)
                for i, o in enumerate(options)
            ]
        else:
            choices = [
                MotionChoice(motion=motion, kind=ChoiceKind.FOR, label="赞成", order=0),
                MotionChoice(motion=motion, kind=ChoiceKind.AGAINST, label="反对", order=1),
            ]
        choices.append(MotionChoice(motion=motion, kind=ChoiceKind.ABSTAIN, label="弃权", order=len(choices)))
        MotionChoice.objects.bulk_create(choices)
        record_event(
            topic=topic,
            actor=actor,
            kind=EventKind.VOTE_OPENED,
            note=f"{'无记名' if secret else '记名'}表决：{motion.title}",
        )
        audit_record(actor=actor, action="motion.open", target=motion, path=topic.path, summary=motion.title)
    return motion


def vote_cast(*, actor, motion: Motion, choice: MotionChoice) -> VoteReceipt:
    """One ballot per present participant per motion.

    Pre: the voter belongs to the topic's community (a grant covering its path), signed in at
    the motion's meeting, has not voted on it, and the motion is open. The motion row is
    locked, so a cast and the close never interleave; the receipt's unique constraint is the
    last word against a double vote from two devices at once. For a secret motion the ballot
    row holds only the choice.
    """
    topic = motion.topic
    if not access.can(actor, "consultation.vote", topic.path):
        raise ApplicationError(MSG_VOTE_OUTSIDE, fields={"choice": [MSG_VOTE_OUTSIDE]})
    with transaction.atomic():
        motion = Motion.objects.select_for_update().get(pk=motion.pk)
        if motion.status != MotionStatus.OPEN:
            raise ApplicationError(MSG_VOTE_CLOSED)
        if choice.motion_id != motion.pk:
            raise ValidationError({"choice": MSG_BAD_CHOICE})
        if not Invitee.objects.filter(
            meeting_id=motion.meeting_id, user=actor, signed_in_at__isnull=False
        ).exists():
            raise ApplicationError(MSG_NOT_PRESENT)
        if VoteReceipt.objects.filter(motion=motion, voter=actor).exists():
            raise ApplicationError(MSG_ALREADY_VOTED)
        try:
            with transaction.atomic():
                receipt = VoteReceipt.objects.create(motion=motion, voter=actor)
        except IntegrityError:
            raise ApplicationError(MSG_ALREADY_VOTED) from None
        Ballot.objects.create(motion=motion, choice=choice, voter=None if motion.secret else actor)
        # The audit row says who voted, never how, for either kind of motion.
        audit_record(actor=actor, action="motion.vote", target=motion, path=topic.path)
    return receipt


def live_count(motion: Motion) -> dict:
    """What the meeting screen shows while the vote runs: turnout, and for an open (记名)
    motion the running count per choice. A secret motion shows no split until it closes."""
    present = Invitee.objects.filter(meeting_id=motion.meeting_id, signed_in_at__isnull=False).count()
    voted = VoteReceipt.objects.filter(motion=motion).count()
    data = {"motion": motion.pk, "status": motion.status, "present": present, "voted": voted, "choices": []}
    if motion.status == MotionStatus.CLOSED:
        data["choices"] = [{"id": c.pk, "label": c.label, "votes": c.votes} for c in motion.choices.all()]
        data.update(passed=motion.passed, quorum_met=motion.quorum_met)
    elif not motion.secret:
        counts = dict(
            Ballot.objects.filter(motion=motion)
            .values("choice")
            .annotate(n=Count("id"))
            .values_list("choice", "n")
        )
        data["choices"] = [
            {"id": c.pk, "label": c.label, "votes": counts.get(c.pk, 0)} for c in motion.choices.all()
        ]
    return data


def _reseal_ballots(motion: Motion) -> None:
    """Empties the ballot box and refills it in a random order, in the closing transaction.

    A secret ballot row holds only its choice, but it was written in the same transaction as
    the voter's receipt, so until now PostgreSQL's system columns (the row's creating
    transaction id, `xmin`) and its physical position (`ctid`, insertion order) would still
    line each ballot up with a receipt. Rewritten here, every ballot of the motion carries the
    closing transaction's id, a new random id and a shuffled position. What this does not
    reach: while the vote is open the link exists, and the old row versions remain in the
    table file until VACUUM and in the write-ahead log — readable only to a database
    superuser, not through the application or an ordinary database role."""
    ballots = list(Ballot.objects.filter(motion=motion).values_list("choice_id", flat=True))
    secrets.SystemRandom().shuffle(ballots)
    Ballot.objects.filter(motion=motion).delete()
    Ballot.objects.bulk_create([Ballot(motion=motion, choice_id=choice_id) for choice_id in ballots])


def motion_close(*, actor, motion: Motion) -> Motion:
    """Counts and closes. Post: tallies and the result are written once; the motion is final."""
    topic = motion.topic
    access.require(actor, "consultation.manage", topic.path)
    with transaction.atomic():
        topic = lock_topic(topic)
        motion = Motion.objects.select_for_update().get(pk=motion.pk)
        if motion.status != MotionStatus.OPEN:
            raise ApplicationError(MSG_VOTE_CLOSED)
        choices = list(motion.choices.all())
        counts = dict(
            Ballot.objects.filter(motion=motion)
            .values("choice")
            .annotate(n=Count("id"))
            .values_list("choice", "n")
        )
        invitees = Invitee.objects.filter(meeting_id=motion.meeting_id)
        result = tally(
            invited=invitees.count(),
            present=invitees.filter(signed_in_at__isnull=False).count(),
            votes={c.pk: counts.get(c.pk, 0) for c in choices},
            kinds={c.pk: c.kind for c in choices},
            quorum_ratio=motion.quorum_ratio,
            quorum_strict=motion.quorum_strict,
            pass_basis=motion.pass_basis,
            pass_ratio=motion.pass_ratio,
            pass_strict=motion.pass_strict,
        )
        if motion.secret:
            _reseal_ballots(motion)
        for c in choices:
            MotionChoice.objects.filter(pk=c.pk).update(votes=counts.get(c.pk, 0))
        motion.status, motion.closed_at = MotionStatus.CLOSED, now()
        motion.invited_count, motion.present_count = result.invited, result.present
        motion.cast_count, motion.abstain_count = result.cast, result.abstain
        motion.quorum_met, motion.passed, motion.winner_id = (
            result.quorum_met,
            result.passed,
            result.winner_id,
        )
        motion.save()
        verdict = "通过" if result.passed else ("未达到法定人数" if not result.quorum_met else "未通过")
        record_event(
            topic=topic,
            actor=actor,
            kind=EventKind.VOTE_CLOSED,
            note=f"{motion.title}：应到 {result.invited}，实到 {result.present}，投票 {result.cast}，{verdict}",
            data={
                "motion": motion.pk,
                "passed": result.passed,
                "votes": {str(k): v for k, v in counts.items()},
            },
        )
        audit_record(actor=actor, action="motion.close", target=motion, path=topic.path, summary=verdict)
    return motion
