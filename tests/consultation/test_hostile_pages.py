"""Hostile form posts to every page action never produce a 500: ids that are not numbers,
ids of other topics' objects, absurd values and missing fields all end in a message or a 404,
and nothing changes. (400 is a refused form shown again with its messages.)"""

from __future__ import annotations

import pytest
from django.test import Client

from consultation.models import Invitee, Outcome, TopicEvent

pytestmark = pytest.mark.django_db

TOPIC_ACTIONS = [
    "advance", "review", "publicity", "meeting", "objections", "publicity/photos", "objections/reply",
    "resolution", "implementation", "progress", "outcomes/execute", "supervision", "rating", "evaluate",
    "end",
]  # fmt: skip
MEETING_ACTIONS = [
    "open", "sign-in", "speak", "end-speech", "options", "motions", "motions/close", "minutes", "close",
    "advance", "invite", "attachments",
]  # fmt: skip
JUNK = [
    {},
    {"window": "abc", "objection": "1; DROP TABLE", "outcome": "x", "step": "码" * 300},
    {"window": "99999999999999999999", "outcome": "-1", "invitee": "abc", "speech": "[]", "motion": "1.5"},
    {"user": "abc", "choice": "abc", "source": "abc", "score": "9", "progress": "abc", "budget": "1e999",
     "deadline": "2026-13-45", "scheduled_at": "yesterday", "default_speech_seconds": "-5", "decision": "x",
     "options": ["a", "b"], "category": "ultraviolet", "amount": "NaN", "grant_amount": "NaN"},
]  # fmt: skip


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize("body", JUNK)
def test_junk_on_every_topic_action_is_never_a_500(flow, carol, rita, body):
    topic = flow.to_vote()
    events = TopicEvent.objects.count()
    for user in (carol, rita):
        client = _client(user)
        for action in TOPIC_ACTIONS:
            response = client.post(f"/consultation/topics/{topic.pk}/{action}/", body)
            assert response.status_code in (302, 400, 403, 404), (user, action, response.status_code)
        # the page itself takes no POST: each operation has its own URL
        assert (
            client.post(f"/consultation/topics/{topic.pk}/", {**body, "action": "advance"}).status_code == 405
        )
    assert TopicEvent.objects.count() == events
    assert flow.refresh(topic).current_step.code == "vote"


@pytest.mark.parametrize("body", JUNK)
def test_junk_on_every_meeting_action_is_never_a_500(flow, carol, body):
    flow.to_vote()
    invitees = Invitee.objects.count()
    client = _client(carol)
    for action in MEETING_ACTIONS:
        response = client.post(f"/consultation/meetings/{flow.meeting.pk}/{action}/", body)
        assert response.status_code in (302, 404), (action, response.status_code)
    assert (
        client.post(f"/consultation/meetings/{flow.meeting.pk}/", {**body, "action": "open"}).status_code
        == 405
    )
    assert Invitee.objects.count() == invitees
    assert not Outcome.objects.exists()


@pytest.mark.parametrize("body", JUNK)
def test_junk_on_votes_templates_and_boards_is_never_a_500(flow, carol, rita, body):
    flow.to_vote()
    from consultation import services

    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    assert _client(rita).post(f"/consultation/motions/{motion.pk}/vote/", body).status_code in (302, 404)
    assert _client(carol).post("/consultation/templates/", body).status_code in (302, 404)
    assert _client(carol).get("/consultation/", {"community": body.get("window", "abc")}).status_code in (
        200,
        404,
    )
    assert _client(carol).get("/consultation/topics/", {"page": "abc"}).status_code in (200, 404)
