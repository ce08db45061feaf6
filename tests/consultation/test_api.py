"""The API: who may do what, scoped lists, {message, fields} errors, pinned query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consultation.services import MSG_ALREADY_VOTED, MSG_STALE_STEP, MSG_VOTE_OUTSIDE
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

TOPICS = "/api/v1/consultation/topics/"


def test_a_resident_proposes_and_sees_it_in_the_list(rita, community_a):
    client = api_as(rita)
    response = client.post(
        TOPICS, {"title": "增设晾衣架", "description": "院坝缺少晾晒区", "community": community_a.pk}
    )
    assert response.status_code == 201, response.content
    assert response.json()["current_step"]["name"] == "提议"
    listed = client.get(TOPICS).json()
    assert [t["title"] for t in listed["results"]] == ["增设晾衣架"]


def test_a_proposal_without_a_title_is_a_400_with_fields(rita, community_a):
    response = api_as(rita).post(TOPICS, {"description": "x", "community": community_a.pk})
    assert response.status_code == 400
    assert set(response.json()) == {"message", "fields"} and "title" in response.json()["fields"]


def test_lists_are_scoped_to_the_users_community(flow, rita, ursula, dave, victor, community_b):
    from consultation import services

    flow.propose(title="A 的议题")
    services.topic_propose(actor=ursula, title="B 的议题", description="内容", community=community_b)
    titles = lambda user: sorted(t["title"] for t in api_as(user).get(TOPICS).json()["results"])  # noqa: E731
    assert titles(rita) == ["A 的议题"]
    assert titles(ursula) == ["B 的议题"]
    assert titles(dave) == ["B 的议题"]
    assert titles(victor) == ["A 的议题", "B 的议题"]


def test_a_topic_outside_the_scope_is_404(flow, ursula):
    topic = flow.propose()
    assert api_as(ursula).get(f"{TOPICS}{topic.pk}/").status_code == 404


def test_detail_shows_the_steps_and_the_checklist(flow, carol):
    topic = flow.to_notice()
    data = api_as(carol).get(f"{TOPICS}{topic.pk}/").json()
    assert [s["name"] for s in data["steps"]][:3] == ["提议", "审议", "公示议题"]
    assert [(r["label"], r["met"]) for r in data["requirements"]] == [
        ("已发布公示", False),
        ("公示期满（不少于 5 天）", False),
        ("已安排小圆桌会议并邀请参会人员", False),
    ]


@pytest.mark.parametrize(
    ("who", "expected"),
    [("carol", 200), ("tina", 200), ("rita", 403), ("alice", 403), ("victor", 403), ("dave", 404)],
)
def test_only_community_or_town_staff_advance_steps(request, flow, who, expected, tina, alice, victor, dave):
    topic = flow.propose()
    user = request.getfixturevalue(who)
    response = api_as(user).post(f"{TOPICS}{topic.pk}/advance/", {"step": "propose"})
    assert response.status_code == expected, response.content
    if expected == 403:
        assert response.json()["message"] == "您没有权限执行此操作"


def test_advancing_a_step_out_of_order_is_a_400(flow, carol):
    topic = flow.propose()
    response = api_as(carol).post(f"{TOPICS}{topic.pk}/advance/", {"step": "notice"})
    assert response.status_code == 400
    assert response.json()["message"] == MSG_STALE_STEP.format(current="提议", requested="公示议题")


def test_review_through_the_api(flow, carol):
    topic = flow.to_review()
    response = api_as(carol).post(f"{TOPICS}{topic.pk}/review/", {"decision": "reject"})
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = api_as(carol).post(f"{TOPICS}{topic.pk}/review/", {"decision": "accept"})
    assert response.json()["current_step"]["code"] == "notice"


def test_voting_through_the_api(flow, carol, voters, ursula):
    flow.to_vote()
    staff = api_as(carol)
    motion = staff.post("/api/v1/consultation/motions/", {"meeting": flow.meeting.pk, "title": "表决"}).json()
    for_id = next(c["id"] for c in motion["choices"] if c["kind"] == "for")
    url = f"/api/v1/consultation/motions/{motion['id']}/"
    assert api_as(voters[0]).post(f"{url}vote/", {"choice": for_id}).status_code == 201
    again = api_as(voters[0]).post(f"{url}vote/", {"choice": for_id})
    assert again.status_code == 400 and again.json()["message"] == MSG_ALREADY_VOTED
    assert api_as(ursula).post(f"{url}vote/", {"choice": for_id}).status_code == 404  # not even visible
    assert api_as(voters[1]).get(f"{url}count/").json()["voted"] == 1
    assert api_as(voters[1]).post(f"{url}close/").status_code == 403
    closed = staff.post(f"{url}close/").json()
    assert closed["status"] == "closed" and closed["cast_count"] == 1


def test_an_outsider_who_can_see_cannot_vote(flow, carol, voters, victor):
    flow.to_vote()
    motion = (
        api_as(carol)
        .post("/api/v1/consultation/motions/", {"meeting": flow.meeting.pk, "title": "表决"})
        .json()
    )
    response = api_as(victor).post(
        f"/api/v1/consultation/motions/{motion['id']}/vote/", {"choice": motion["choices"][0]["id"]}
    )
    assert response.status_code == 400 and response.json()["message"] == MSG_VOTE_OUTSIDE


def test_objection_and_rating_endpoints(flow, carol, voters, ursula):
    from consultation import services

    topic = flow.to_notice()
    window = services.publicity_open(actor=carol, topic=topic, content="公示")
    response = api_as(voters[2]).post(
        "/api/v1/consultation/objections/", {"window": window.pk, "text": "有异议"}
    )
    assert response.status_code == 201
    assert (
        api_as(ursula)
        .post("/api/v1/consultation/objections/", {"window": window.pk, "text": "x"})
        .status_code
        == 404
    )
    notices = api_as(voters[3]).get("/api/v1/consultation/publicity/?open=1").json()["results"]
    assert [(n["topic_title"], n["objection_count"]) for n in notices] == [(topic.title, 1)]
    response = api_as(voters[0]).post("/api/v1/consultation/ratings/", {"topic": topic.pk, "score": 5})
    assert response.status_code == 400  # not the 评议 step yet


def _fresh(user):
    """A client for a fresh copy of the user, so its grants load as on a real request."""
    return api_as(type(user).objects.get(pk=user.pk))


def test_the_topic_list_costs_the_same_queries_for_one_or_many_rows(flow, carol):
    flow.propose(title="第一个")

    def queries():
        client = _fresh(carol)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(TOPICS).status_code == 200
        return len(ctx.captured_queries)

    one = queries()
    for i in range(12):
        flow.propose(title=f"议题{i}")
    # grants (1) + count (1) + page of topics joined with step, community, compound, proposer, grid (1)
    assert one == queries() == 3


def test_the_meeting_detail_costs_a_fixed_number_of_queries(flow, carol, django_assert_num_queries):
    flow.to_vote()
    flow.vote(None)
    client = _fresh(carol)
    # grants + meeting + invitees + options + motions + their choices
    with django_assert_num_queries(6):
        assert client.get(f"/api/v1/consultation/meetings/{flow.meeting.pk}/").status_code == 200
