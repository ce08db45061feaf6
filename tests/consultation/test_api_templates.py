"""Procedure templates through the API: who sees which, cloning for a community, and editing
— a version topics run on is never changed under them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from consultation.models import ProcedureTemplate, TemplateStep, Topic
from consultation.services import MSG_RECORD_KIND, MSG_TEMPLATE_STEP_FIELD
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

TEMPLATES = "/api/v1/consultation/templates/"
STEP_FIELDS = {
    "id",
    "order",
    "code",
    "kind",
    "name",
    "description",
    "actor_role",
    "actor_label",
    "required_records",
    "min_days",
    "quorum_basis",
    "quorum_ratio",
    "quorum_strict",
    "pass_basis",
    "pass_ratio",
    "pass_strict",
}


def clone(user, source, community, **body):
    return api_as(user).post(f"{TEMPLATES}{source.pk}/clone/", {"community": community.pk, **body})


def names(user):
    return sorted((t["name"], t["version"]) for t in api_as(user).get(TEMPLATES).json()["results"])


def test_staff_clone_the_default_for_their_community(default_template, carol, community_a):
    response = clone(carol, default_template, community_a, name="洪川议事规则")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["name"], data["version"], data["community"], data["community_name"]) == (
        "洪川议事规则",
        1,
        community_a.pk,
        "洪川社区",
    )
    assert (data["is_current"], data["is_default"], data["cloned_from"], data["topic_count"]) == (
        True,
        False,
        default_template.pk,
        0,
    )
    assert [s["code"] for s in data["steps"]] == [s.code for s in default_template.steps.order_by("order")]
    assert set(data["steps"][0]) == STEP_FIELDS
    vote = next(s for s in data["steps"] if s["code"] == "vote")
    assert (vote["required_records"], vote["pass_ratio"], vote["pass_strict"]) == (
        ["vote_record", "minutes"],
        "0.500",
        True,
    )


def test_each_user_sees_the_default_and_their_own_communities_templates(
    default_template, carol, dave, rita, ursula, victor, community_a, community_b
):
    clone(carol, default_template, community_a, name="洪川议事规则")
    clone(dave, default_template, community_b, name="南街议事规则")
    default = (default_template.name, 1)
    assert names(rita) == sorted([default, ("洪川议事规则", 1)])
    assert names(ursula) == sorted([default, ("南街议事规则", 1)])
    assert names(victor) == sorted([default, ("洪川议事规则", 1), ("南街议事规则", 1)])
    theirs = ProcedureTemplate.objects.get(community=community_b)
    assert api_as(rita).get(f"{TEMPLATES}{theirs.pk}/").status_code == 404


def test_cloning_is_for_template_managers_of_that_community(
    default_template, carol, rita, victor, community_a, community_b
):
    assert clone(carol, default_template, community_b).status_code == 404  # B is not carol's to see
    response = clone(rita, default_template, community_a)
    assert response.status_code == 403 and response.json()["message"] == "您没有权限执行此操作"
    assert clone(carol, default_template, community_a).json()["name"] == "洪川社区议事规则"
    again = clone(victor, default_template, community_a, name="市级修订")
    assert (again.json()["version"], again.json()["is_current"]) == (2, True)
    assert list(
        ProcedureTemplate.objects.filter(community=community_a).order_by("version").values_list("is_current")
    ) == [(False,), (True,)]
    assert (
        api_as(carol).post(f"{TEMPLATES}{default_template.pk}/clone/", {"community": "abc"}).status_code
        == 400
    )


def test_editing_a_template_in_use_makes_a_new_version_and_running_topics_keep_theirs(
    default_template, flow, carol, community_a
):
    ours = ProcedureTemplate.objects.get(pk=clone(carol, default_template, community_a).json()["id"])
    staff = api_as(carol)

    # nobody runs on it yet: edited in place
    response = staff.patch(f"{TEMPLATES}{ours.pk}/", {"steps": {"notice": {"min_days": 6}}}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["id"], response.json()["version"]) == (ours.pk, 1)
    assert TemplateStep.objects.get(template=ours, code="notice").min_days == 6

    topic = flow.propose()
    assert topic.template_id == ours.pk
    response = staff.patch(
        f"{TEMPLATES}{ours.pk}/",
        {
            "name": "洪川议事规则（修订）",
            "steps": {
                "vote": {"pass_ratio": "0.667", "required_records": ["vote_record"]},
                "notice": {"min_days": 7, "name": "议题公示"},
            },
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    edited = response.json()
    assert edited["id"] != ours.pk
    assert (edited["name"], edited["version"], edited["is_current"], edited["cloned_from"]) == (
        "洪川议事规则（修订）",
        2,
        True,
        ours.pk,
    )
    steps = {s["code"]: s for s in edited["steps"]}
    assert (steps["vote"]["pass_ratio"], steps["vote"]["required_records"]) == ("0.667", ["vote_record"])
    assert (steps["notice"]["min_days"], steps["notice"]["name"]) == (7, "议题公示")

    kept = staff.get(f"{TEMPLATES}{ours.pk}/").json()
    assert (kept["name"], kept["is_current"], kept["topic_count"]) == ("洪川社区议事规则", False, 1)
    kept_steps = {s["code"]: s for s in kept["steps"]}
    assert (kept_steps["vote"]["pass_ratio"], kept_steps["notice"]["min_days"]) == ("0.500", 6)
    running = Topic.objects.get(pk=topic.pk)
    assert running.template_id == ours.pk
    assert [s["name"] for s in staff.get(f"/api/v1/consultation/topics/{topic.pk}/").json()["steps"]][
        2
    ] == "公示议题"
    assert flow.propose(title="新议题").template_id == edited["id"]


def test_bad_edits_are_400s_with_field_messages_and_change_nothing(default_template, carol, community_a):
    ours = ProcedureTemplate.objects.get(pk=clone(carol, default_template, community_a).json()["id"])
    url = f"{TEMPLATES}{ours.pk}/"
    staff = api_as(carol)

    def refused(steps):
        response = staff.patch(url, {"steps": steps}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["message"]
        return response.json()["fields"]

    assert refused({"vote": {"kind": "propose", "order": 1}}) == {
        "steps.vote": [MSG_TEMPLATE_STEP_FIELD.format(fields="kind、order")]
    }
    assert refused({"vote": {"required_records": ["selfie", "minutes"]}}) == {
        "steps.vote.required_records": [MSG_RECORD_KIND.format(kinds="selfie")]
    }
    assert refused({"vote": {"required_records": "minutes"}}) == {
        "steps.vote.required_records": ["必需记录应为列表"]
    }
    assert list(refused({"vote": {"pass_ratio": "2"}})) == ["steps.vote.pass_ratio"]
    assert list(refused({"vote": {"quorum_strict": "perhaps"}})) == ["steps.vote.quorum_strict"]
    assert refused({"notice": {"min_days": 0}}) == {"steps.notice.min_days": ["公示期至少 1 天"]}
    assert refused({"nowhere": {"name": "x"}}) == {"steps": ["模板中没有这些步骤：nowhere"]}
    assert list(refused({"vote": 5})) == ["steps"]
    assert list(refused(["vote"])) == ["steps"]

    vote = TemplateStep.objects.get(template=ours, code="vote")
    assert (vote.kind, vote.pass_ratio, vote.required_records, vote.quorum_strict) == (
        "vote",
        Decimal("0.500"),
        ["vote_record", "minutes"],
        True,
    )
    assert TemplateStep.objects.get(template=ours, code="notice").min_days == 5
    assert ProcedureTemplate.objects.filter(community=community_a).count() == 1


def test_residents_and_other_communities_cannot_edit(default_template, carol, rita, ursula, community_a):
    ours = ProcedureTemplate.objects.get(pk=clone(carol, default_template, community_a).json()["id"])
    body = {"steps": {"vote": {"pass_ratio": "0.9"}}}
    assert api_as(rita).patch(f"{TEMPLATES}{ours.pk}/", body, format="json").status_code == 403
    assert api_as(rita).patch(f"{TEMPLATES}{default_template.pk}/", body, format="json").status_code == 403
    assert api_as(ursula).patch(f"{TEMPLATES}{ours.pk}/", body, format="json").status_code == 404
    # community staff edit their community's template, not the city's default
    assert api_as(carol).patch(f"{TEMPLATES}{default_template.pk}/", body, format="json").status_code == 403
    assert TemplateStep.objects.get(template=ours, code="vote").pass_ratio == Decimal("0.500")
    assert ProcedureTemplate.objects.count() == 2
