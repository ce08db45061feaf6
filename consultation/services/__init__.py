"""Every change in consultation. Keyword-only functions that check the actor through the one
access module, run in one transaction, write the topic's history and the audit row, and send
notifications and domain signals for after the commit."""

# ruff: noqa: F401 - this package re-exports its modules' services as one namespace

from .common import *  # noqa: F403 - the MSG_* constants, asserted by tests and shown by pages
from .meetings import (
    current_speech,
    meeting_attach,
    meeting_close,
    meeting_invite,
    meeting_open,
    meeting_save_minutes,
    meeting_schedule,
    meeting_sign_in,
    option_table,
    present_user_ids,
    speech_end,
    speech_start,
)
from .outcomes import (
    check_grant_approval,
    implementation_progress,
    implementation_set,
    is_participant,
    outcome_execute,
    rating_submit,
    resolution_record,
    supervision_record,
)
from .publicity import (
    objection_lodge,
    objection_reply,
    publicity_add_photo,
    publicity_close_due,
    publicity_open,
)
from .requirements import Requirement, step_requirements
from .templates import template_clone, template_step_update, template_update
from .topics import (
    template_for,
    topic_advance,
    topic_end_not_passed,
    topic_evaluate,
    topic_propose,
    topic_review,
)
from .votes import (
    live_count,
    motion_close,
    motion_open,
    motion_record_hands,
    reaches,
    tally,
    vote_cast,
    vote_cast_proxy,
    voting_invitees,
)
