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

from .. import permissions
from ..models import (
    Ballot,
    ChoiceKind,
    EventKind,
    Invitee,
    Meeting,
    MeetingStatus,
    Motion,
    MotionChoice,
    MotionMethod,
    MotionStatus,
    PassBasis,
    StepKind,
    VoteReceipt,
)
from .common import (
    MSG_ALREADY_VOTED,
    MSG_BAD_CHOICE,
    MSG_HANDS_AFTER_BALLOTS,
    MSG_HANDS_TOO_MANY,
    MSG_MEETING_STATE,
    MSG_MOTION_OPEN,
    MSG_NO_HANDS_WHEN_ANONYMOUS,
    MSG_NO_OPTIONS,
    MSG_NO_PROXY_WHEN_ANONYMOUS,
    MSG_NOT_PRESENT,
    MSG_PROXY_ALREADY,
    MSG_PROXY_NOT_MEMBER,
    MSG_PROXY_NOT_PRESENT,
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
    if not permissions.may_vote(actor, topic.community):
        raise ApplicationError(MSG_VOTE_OUTSIDE, fields={"choice": [MSG_VOTE_OUTSIDE]})
    with transaction.atomic():
        motion = Motion.objects.select_for_update().get(pk=motion.pk)
        if motion.status != MotionStatus.OPEN:
            raise ApplicationError(MSG_VOTE_CLOSED)
        if choice.motion_id != motion.pk:
            raise ValidationError({"choice": MSG_BAD_CHOICE})
        if not voting_invitees(motion.meeting_id).filter(user=actor, signed_in_at__isnull=False).exists():
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
    present = voting_invitees(motion.meeting_id).filter(signed_in_at__isnull=False).count()
    voted = VoteReceipt.objects.filter(motion=motion).count()
    proxied = VoteReceipt.objects.filter(motion=motion, proxied_by__isnull=False).count()
    data = {
        "motion": motion.pk,
        "status": motion.status,
        "method": motion.method,
        "present": present,
        "voted": voted,
        "proxied": proxied,
        "choices": [],
    }
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


def voting_invitees(meeting_id: int):
    """The meeting's voting members (Invitee.voting): 应到 counts them, 实到 those signed in.
    列席 guests, invited by name, count in neither."""
    return Invitee.objects.filter(meeting_id=meeting_id, user__isnull=False)


def _count_and_close(*, actor, topic, motion: Motion, counts: dict[int, int], how: str) -> Motion:
    """Tallies `counts` (choice id → votes) under the motion's rules and closes it; the
    motion row is locked by the caller. Writes the event and audit row once."""
    choices = list(motion.choices.all())
    invitees = voting_invitees(motion.meeting_id)
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
    split = "，".join(f"{c.label} {counts.get(c.pk, 0)}" for c in choices)
    note = (
        f"{motion.title}（{how}）：应到 {result.invited}，实到 {result.present}，"
        f"{'举手' if motion.method == MotionMethod.HANDS else '投票'} {result.cast}（{split}），{verdict}"
    )
    record_event(
        topic=topic,
        actor=actor,
        kind=EventKind.VOTE_CLOSED,
        note=note,
        data={
            "motion": motion.pk,
            "method": motion.method,
            "passed": result.passed,
            "votes": {str(k): v for k, v in counts.items()},
        },
    )
    audit_record(
        actor=actor,
        action="motion.hands" if motion.method == MotionMethod.HANDS else "motion.close",
        target=motion,
        path=topic.path,
        summary=note[:200],
    )
    return motion


def motion_close(*, actor, motion: Motion) -> Motion:
    """Counts the ballots and closes. Post: tallies and the result are written once; the
    motion is final."""
    topic = motion.topic
    access.require(actor, "consultation.manage", topic.path)
    with transaction.atomic():
        topic = lock_topic(topic)
        motion = Motion.objects.select_for_update().get(pk=motion.pk)
        if motion.status != MotionStatus.OPEN:
            raise ApplicationError(MSG_VOTE_CLOSED)
        counts = dict(
            Ballot.objects.filter(motion=motion)
            .values("choice")
            .annotate(n=Count("id"))
            .values_list("choice", "n")
        )
        if motion.secret:
            _reseal_ballots(motion)
        proxied = VoteReceipt.objects.filter(motion=motion, proxied_by__isnull=False).count()
        how = ("无记名投票" if motion.secret else "记名投票") + (
            f"，其中代投 {proxied} 票" if proxied else ""
        )
        return _count_and_close(actor=actor, topic=topic, motion=motion, counts=counts, how=how)


def motion_record_hands(*, actor, motion: Motion, counts: dict[int, int]) -> Motion:
    """举手表决: the host counts the raised hands for each choice and enters the figures,
    which close the motion as its result — for a meeting where residents have no phones.

    Pre: the motion is open, open-ballot (a show of hands is never secret), and nobody has
    voted on it electronically; every count is a whole number ≥ 0 and together they do not
    exceed the voting members present. Post: the motion is closed with method 举手表决, the
    figures are in the topic's history, the audit row and the meeting minutes."""
    topic = motion.topic
    access.require(actor, "consultation.manage", topic.path)
    with transaction.atomic():
        topic = lock_topic(topic)
        motion = Motion.objects.select_for_update().get(pk=motion.pk)
        if motion.status != MotionStatus.OPEN:
            raise ApplicationError(MSG_VOTE_CLOSED)
        if motion.secret:
            raise ApplicationError(MSG_NO_HANDS_WHEN_ANONYMOUS)
        cast = VoteReceipt.objects.filter(motion=motion).count()
        if cast:
            raise ApplicationError(MSG_HANDS_AFTER_BALLOTS.format(n=cast))
        choices = list(motion.choices.all())
        clean: dict[int, int] = {}
        errors = {}
        for c in choices:
            raw = counts.get(c.pk, 0)
            try:
                value = int(raw)
            except (TypeError, ValueError):
                value = -1
            if value < 0 or value > 100_000:
                errors[f"choice_{c.pk}"] = f"「{c.label}」的人数应为 0 或正整数"
            clean[c.pk] = value
        if errors:
            raise ValidationError(errors)
        present = voting_invitees(motion.meeting_id).filter(signed_in_at__isnull=False).count()
        total = sum(clean.values())
        if total > present:
            raise ValidationError({"counts": MSG_HANDS_TOO_MANY.format(total=total, present=present)})
        motion.method = MotionMethod.HANDS
        motion = _count_and_close(actor=actor, topic=topic, motion=motion, counts=clean, how="举手表决")
        meeting = Meeting.objects.select_for_update().get(pk=motion.meeting_id)
        line = f"【举手表决】{motion.title}：" + "，".join(f"{c.label} {clean[c.pk]} 人" for c in choices)
        line += f"；应到 {motion.invited_count}，实到 {motion.present_count}，{'通过' if motion.passed else '未通过'}"
        meeting.minutes = f"{meeting.minutes.rstrip()}\n{line}".lstrip()
        meeting.save(update_fields=["minutes"])
    return motion


def vote_cast_proxy(*, actor, motion: Motion, invitee: Invitee, choice: MotionChoice) -> VoteReceipt:
    """代投: the host casts the ballot at the tablet for a present voting member who has no
    phone, as that member tells them. The receipt names who cast it, so the record shows the
    ballot as 代投. A secret motion cannot be proxied (the host would learn the vote)."""
    topic = motion.topic
    access.require(actor, "consultation.manage", topic.path)
    with transaction.atomic():
        motion = Motion.objects.select_for_update().get(pk=motion.pk)
        if motion.status != MotionStatus.OPEN:
            raise ApplicationError(MSG_VOTE_CLOSED)
        if motion.secret:
            raise ApplicationError(MSG_NO_PROXY_WHEN_ANONYMOUS)
        if choice.motion_id != motion.pk:
            raise ValidationError({"choice": MSG_BAD_CHOICE})
        invitee = Invitee.objects.select_related("user").get(pk=invitee.pk)
        if invitee.meeting_id != motion.meeting_id or not invitee.voting:
            raise ValidationError({"invitee": MSG_PROXY_NOT_MEMBER.format(name=invitee.name)})
        if not permissions.may_vote(invitee.user, topic.community):
            raise ValidationError({"invitee": MSG_PROXY_NOT_MEMBER.format(name=invitee.name)})
        if not invitee.present:
            raise ValidationError({"invitee": MSG_PROXY_NOT_PRESENT.format(name=invitee.name)})
        if VoteReceipt.objects.filter(motion=motion, voter_id=invitee.user_id).exists():
            raise ApplicationError(MSG_PROXY_ALREADY.format(name=invitee.name))
        try:
            with transaction.atomic():
                receipt = VoteReceipt.objects.create(
                    motion=motion, voter_id=invitee.user_id, proxied_by=actor
                )
        except IntegrityError:
            raise ApplicationError(MSG_PROXY_ALREADY.format(name=invitee.name)) from None
        Ballot.objects.create(motion=motion, choice=choice, voter_id=invitee.user_id)
        audit_record(
            actor=actor,
            action="motion.vote_proxy",
            target=motion,
            path=topic.path,
            summary=f"代 {invitee.name} 投票",
        )
    return receipt
