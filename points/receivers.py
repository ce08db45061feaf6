"""Turns other apps' domain events into awards (design §2). Each receiver only schedules the
idempotent award task after the sender's transaction commits: a rolled-back change awards
nothing, and a retried task awards once (keyed by the source event)."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.dispatch import receiver

from consultation.signals import participant_attended, participant_spoke, supervision_recorded
from grids.signals import incident_verified
from qionglai.users.signals import grant_given

# Rule.source_event values the default rules use (data migration 0003).
INCIDENT_REPORTER = "incident_verified.reporter"
INCIDENT_PARTY_MEMBER = "incident_verified.party_member"
CONSULTATION_ATTENDED = "consultation.attended"
CONSULTATION_SPOKE = "consultation.spoke"
CONSULTATION_SUPERVISED = "consultation.supervised"


def _schedule(*, source: str, user_id: int, community_path: str, event_key: str) -> None:
    from .tasks import award_event

    transaction.on_commit(
        partial(
            award_event.delay,
            source=source,
            user_id=user_id,
            community_path=community_path,
            event_key=event_key,
        )
    )


@receiver(incident_verified, dispatch_uid="points.incident_verified")
def on_incident_verified(sender, *, reporter_id, party_member_ids, community_path, event_key, **kwargs):
    if reporter_id:
        _schedule(
            source=INCIDENT_REPORTER,
            user_id=reporter_id,
            community_path=community_path,
            event_key=f"{event_key}:reporter:{reporter_id}",
        )
    for user_id in dict.fromkeys(party_member_ids or []):
        _schedule(
            source=INCIDENT_PARTY_MEMBER,
            user_id=user_id,
            community_path=community_path,
            event_key=f"{event_key}:party:{user_id}",
        )


def _consultation(source: str):
    def handler(sender, *, user_id, community_path, event_key, **kwargs):
        _schedule(source=source, user_id=user_id, community_path=community_path, event_key=event_key)

    return handler


on_attended = _consultation(CONSULTATION_ATTENDED)
on_spoke = _consultation(CONSULTATION_SPOKE)
on_supervised = _consultation(CONSULTATION_SUPERVISED)
participant_attended.connect(on_attended, dispatch_uid="points.attended")
participant_spoke.connect(on_spoke, dispatch_uid="points.spoke")
supervision_recorded.connect(on_supervised, dispatch_uid="points.supervised")


@receiver(grant_given, dispatch_uid="points.open_accounts_for_grant")
def open_accounts_for_grant(sender, grant, **kwargs):
    """A grant of a holder role opens that class's account with it (in the same transaction),
    instead of on the person's first visit to a page."""
    from .models import CLASS_ROLE
    from .services import account_open

    for holder_class, role in CLASS_ROLE.items():
        if grant.role == role:
            account_open(user=grant.user, holder_class=holder_class, path=grant.path)
