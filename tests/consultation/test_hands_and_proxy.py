"""Meetings where residents have no phones: the host records a show of hands (举手表决) for a
motion, or casts the ballot of a present member on their behalf (代投). Both are recorded as
such; neither is possible on a secret (无记名) motion. The tablet shows a QR code and a short
link to the vote page for those with phones."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from consultation import services
from consultation.models import Ballot, InviteeCategory, MotionMethod, TopicEvent, VoteReceipt
from qionglai.core.errors import ApplicationError
from qionglai.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _choices(motion):
    return {c.kind: c for c in motion.choices.all()}


def test_a_show_of_hands_closes_the_motion_and_is_recorded_as_such(flow, carol):
    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="同意加装充电桩")
    c = _choices(motion)
    motion = services.motion_record_hands(
        actor=carol, motion=motion, counts={c["for"].pk: 3, c["against"].pk: 1, c["abstain"].pk: 1}
    )
    assert motion.method == MotionMethod.HANDS and motion.passed
    assert (motion.invited_count, motion.present_count, motion.cast_count) == (5, 5, 5)
    assert [ch.votes for ch in motion.choices.all()] == [3, 1, 1]
    note = TopicEvent.objects.filter(kind="vote_closed").latest("id").note
    assert "举手表决" in note and "赞成 3" in note
    assert AuditEvent.objects.filter(action="motion.hands", target_id=str(motion.pk)).count() == 1
    flow.meeting.refresh_from_db()
    assert "【举手表决】同意加装充电桩：赞成 3 人，反对 1 人，弃权 1 人" in flow.meeting.minutes


def test_a_show_of_hands_cannot_count_more_hands_than_members_present(flow, carol, voters):
    flow.to_vote(present=voters[:3])
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    c = _choices(motion)
    with pytest.raises(ValidationError) as error:
        services.motion_record_hands(actor=carol, motion=motion, counts={c["for"].pk: 3, c["against"].pk: 1})
    assert error.value.message_dict["counts"] == [services.MSG_HANDS_TOO_MANY.format(total=4, present=3)]
    motion = services.motion_record_hands(actor=carol, motion=motion, counts={c["for"].pk: 3})
    assert motion.passed


def test_a_show_of_hands_refuses_negative_counts_secret_motions_and_motions_with_ballots(flow, carol, rita):
    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    c = _choices(motion)
    with pytest.raises(ValidationError):
        services.motion_record_hands(actor=carol, motion=motion, counts={c["for"].pk: -1})
    services.vote_cast(actor=rita, motion=motion, choice=c["for"])
    with pytest.raises(ApplicationError) as error:
        services.motion_record_hands(actor=carol, motion=motion, counts={c["for"].pk: 1})
    assert error.value.message == services.MSG_HANDS_AFTER_BALLOTS.format(n=1)
    services.motion_close(actor=carol, motion=motion)
    secret = services.motion_open(actor=carol, meeting=flow.meeting, title="无记名", secret=True)
    with pytest.raises(ApplicationError) as error:
        services.motion_record_hands(actor=carol, motion=secret, counts={})
    assert error.value.message == services.MSG_NO_HANDS_WHEN_ANONYMOUS


def test_only_the_host_records_hands_or_proxies(flow, rita, ruth):
    from django.core.exceptions import PermissionDenied

    flow.to_vote()
    motion = services.motion_open(actor=flow.staff, meeting=flow.meeting, title="表决")
    invitee = flow.meeting.invitees.get(user=ruth)
    with pytest.raises(PermissionDenied):
        services.motion_record_hands(actor=rita, motion=motion, counts={})
    with pytest.raises(PermissionDenied):
        services.vote_cast_proxy(actor=rita, motion=motion, invitee=invitee, choice=_choices(motion)["for"])


def test_a_proxy_ballot_counts_once_and_is_shown_as_proxied(flow, carol, rita, ruth):
    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    c = _choices(motion)
    invitee = flow.meeting.invitees.get(user=ruth)
    receipt = services.vote_cast_proxy(actor=carol, motion=motion, invitee=invitee, choice=c["for"])
    assert (receipt.voter_id, receipt.proxied_by_id) == (ruth.pk, carol.pk)
    with pytest.raises(ApplicationError) as error:
        services.vote_cast(actor=ruth, motion=motion, choice=c["against"])
    assert error.value.message == services.MSG_ALREADY_VOTED
    with pytest.raises(ApplicationError):
        services.vote_cast_proxy(actor=carol, motion=motion, invitee=invitee, choice=c["for"])
    assert (
        AuditEvent.objects.filter(action="motion.vote_proxy", summary=f"代 {invitee.name} 投票").count() == 1
    )
    page = _client(carol).get(f"/consultation/meetings/{flow.meeting.pk}/").content.decode()
    assert page.count('data-testid="proxied"') == 1
    services.vote_cast(actor=rita, motion=motion, choice=c["for"])
    motion = services.motion_close(actor=carol, motion=motion)
    assert motion.cast_count == 2
    assert "其中代投 1 票" in TopicEvent.objects.filter(kind="vote_closed").latest("id").note


def test_secret_motions_cannot_be_proxied(flow, carol, ruth):
    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="无记名", secret=True)
    with pytest.raises(ApplicationError) as error:
        services.vote_cast_proxy(
            actor=carol,
            motion=motion,
            invitee=flow.meeting.invitees.get(user=ruth),
            choice=_choices(motion)["for"],
        )
    assert error.value.message == services.MSG_NO_PROXY_WHEN_ANONYMOUS
    assert not VoteReceipt.objects.filter(motion=motion).exists() and not Ballot.objects.exists()
    page = _client(carol).get(f"/consultation/meetings/{flow.meeting.pk}/").content.decode()
    assert 'data-testid="proxy"' not in page and 'data-testid="hands"' not in page


def test_a_guest_or_an_absent_member_cannot_be_proxied(flow, carol, voters):
    flow.to_vote(present=voters[:4])
    guest = services.meeting_invite(
        actor=carol, meeting=flow.meeting, category=InviteeCategory.PROPERTY, name="王经理"
    )
    services.meeting_sign_in(actor=carol, invitee=guest)
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    choice = _choices(motion)["for"]
    with pytest.raises(ValidationError) as error:
        services.vote_cast_proxy(actor=carol, motion=motion, invitee=guest, choice=choice)
    assert error.value.message_dict["invitee"] == [services.MSG_PROXY_NOT_MEMBER.format(name="王经理")]
    absent = flow.meeting.invitees.get(user=voters[4])
    with pytest.raises(ValidationError) as error:
        services.vote_cast_proxy(actor=carol, motion=motion, invitee=absent, choice=choice)
    assert error.value.message_dict["invitee"] == [services.MSG_PROXY_NOT_PRESENT.format(name=absent.name)]


def test_the_tablet_shows_a_qr_code_and_short_link_to_the_vote_page(flow, carol, rita):
    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    page = _client(carol).get(f"/consultation/meetings/{flow.meeting.pk}/").content.decode()
    assert "data:image/svg+xml" in page and f"http://testserver/consultation/v/{motion.pk}/" in page
    response = _client(rita).get(f"/consultation/v/{motion.pk}/")
    assert response.status_code == 302 and response.url == f"/consultation/motions/{motion.pk}/vote/"


def test_the_pages_record_hands_and_proxies_through_their_own_urls(flow, carol, ruth):
    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    c = _choices(motion)
    client = _client(carol)
    invitee = flow.meeting.invitees.get(user=ruth)
    base = f"/consultation/meetings/{flow.meeting.pk}/motions"
    client.post(f"{base}/proxy/", {"motion": motion.pk, "invitee": invitee.pk, "choice": c["for"].pk})
    assert VoteReceipt.objects.get(motion=motion).proxied_by == carol
    response = client.post(f"{base}/hands/", {"motion": motion.pk, f"choice_{c['for'].pk}": "4"}, follow=True)
    assert services.MSG_HANDS_AFTER_BALLOTS.format(n=1) in response.content.decode()
    other = services.motion_close(actor=carol, motion=motion)
    assert other.method == MotionMethod.BALLOT


def test_the_api_has_one_endpoint_each_for_proxy_and_hands(flow, carol, rita, ruth):
    from tests.conftest import api_as

    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    c = _choices(motion)
    url = f"/api/v1/consultation/motions/{motion.pk}"
    invitee = flow.meeting.invitees.get(user=ruth)
    body = {"invitee": invitee.pk, "choice": c["for"].pk}
    assert api_as(rita).post(f"{url}/proxy/", body, format="json").status_code == 403
    assert api_as(carol).post(f"{url}/proxy/", body, format="json").status_code == 201
    refused = api_as(carol).post(f"{url}/hands/", {"counts": {str(c["for"].pk): 3}}, format="json")
    assert refused.status_code == 400 and refused.json()[
        "message"
    ] == services.MSG_HANDS_AFTER_BALLOTS.format(n=1)
    services.motion_close(actor=carol, motion=motion)
    second = services.motion_open(actor=carol, meeting=flow.meeting, title="第二项")
    c = _choices(second)
    response = api_as(carol).post(
        f"/api/v1/consultation/motions/{second.pk}/hands/",
        {"counts": {str(c["for"].pk): 4, str(c["against"].pk): 1}},
        format="json",
    )
    assert response.status_code == 200 and response.json()["method"] == "hands"
    assert response.json()["passed"] is True
    meeting = api_as(carol).get(f"/api/v1/consultation/meetings/{flow.meeting.pk}/").json()
    assert all(i["voting"] for i in meeting["invitees"])
