"""The later steps through the API: publicity and objections, the meeting's record, the
resolution and its outcomes, implementation, supervision, evaluation and ending — each as the
cast member who may, and refused to those who may not."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from consultation import services
from consultation.models import Attachment, Outcome, OutcomeStatus, Topic
from consultation.services import (
    MSG_INVITEE_OUTSIDE,
    MSG_NO_RATINGS,
    MSG_NOT_FAILED,
    MSG_NOT_SUPERVISOR,
    MSG_PUBLICITY_EXISTS,
)
from projects import services as project_services
from projects.models import FundEntry, MicroFund, RenewalProject
from qionglai.core.images import MSG_NOT_IMAGE
from tests.conftest import api_as

from .conftest import expire_publicity

pytestmark = pytest.mark.django_db

BASE = "/api/v1/consultation"
DENIED = "您没有权限执行此操作"


def topic_url(topic, action=""):
    return f"{BASE}/topics/{topic.pk}/{action + '/' if action else ''}"


def png(name="photo.png", color="red") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def junk(name="photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"this is not an image at all" * 10, content_type="image/png")


def fund(community, amount, staff) -> MicroFund:
    fund = MicroFund.objects.get(community=community)
    project_services.fund_inflow(
        actor=staff, fund=fund, kind="donation", amount=amount, idempotency_key=f"test:{amount}"
    )
    return MicroFund.objects.get(pk=fund.pk)


def served(user, url, client):
    """GET a page route (attachments are served by a page view, so a session login)."""
    client.force_login(user)
    response = client.get(url)
    client.logout()
    return response


# --- resolution → implementation → outcomes -------------------------------------------------


def test_a_topic_goes_from_resolution_through_implementation(flow, carol, ruth, community_a):
    money = fund(community_a, "5000", carol)
    topic = flow.to_resolution_notice()
    staff = api_as(carol)

    response = staff.post(
        topic_url(topic, "resolution"),
        {
            "text": "在院坝东侧加装 10 个充电桩，申请微基金资助 3000 元。",
            "outcomes": [
                {"kind": "fund_grant", "title": "充电桩建设资助", "amount": "3000"},
                {"kind": "renewal", "title": "洪川一号院充电桩微更新", "amount": "20000"},
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    resolution = response.json()
    assert resolution["text"] == "在院坝东侧加装 10 个充电桩，申请微基金资助 3000 元。"
    assert [(o["kind"], o["title"], o["amount"], o["status"]) for o in resolution["outcomes"]] == [
        ("fund_grant", "充电桩建设资助", "3000.00", "pending"),
        ("renewal", "洪川一号院充电桩微更新", "20000.00", "pending"),
    ]

    response = staff.post(topic_url(topic, "publicity"), {"content": "决议：加装充电桩。"})
    assert response.status_code == 201, response.content
    window = response.json()
    assert (window["step"], window["title"], window["is_open"], window["objection_count"]) == (
        "resolution_notice",
        f"决议公示：{topic.title}",
        True,
        0,
    )
    expire_publicity(topic)
    moved = staff.post(topic_url(topic, "advance"), {"step": "resolution_notice"})
    assert moved.json()["current_step"]["code"] == "implement"

    deadline = timezone.localdate() + timedelta(days=30)
    response = staff.post(
        topic_url(topic, "implementation"),
        {
            "owner": "洪川社区居委会",
            "budget": "20000",
            "deadline": deadline.isoformat(),
            "supervisor": ruth.pk,
        },
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "owner": "洪川社区居委会",
        "budget": "20000.00",
        "deadline": deadline.isoformat(),
        "progress": 0,
        "supervisor_name": "居民 露丝",
        "you_supervise": False,
        "updated_at": response.json()["updated_at"],
    }

    grant_id, renewal_id = (o["id"] for o in resolution["outcomes"])
    executed = staff.post(f"{BASE}/outcomes/{grant_id}/execute/")
    assert executed.status_code == 200, executed.content
    entry = FundEntry.objects.get(fund=money, kind="grant")
    assert executed.json()["status"] == "done"
    assert executed.json()["result_ref"] == f"projects.fundentry:{entry.pk}"
    again = staff.post(f"{BASE}/outcomes/{grant_id}/execute/")  # a retry pays nothing more
    assert again.status_code == 200 and again.json()["result_ref"] == executed.json()["result_ref"]
    money.refresh_from_db()
    assert money.balance == Decimal("2000.00")
    assert FundEntry.objects.filter(fund=money, kind="grant").count() == 1
    assert entry.approval_ref == f"consultation.resolution:{resolution['id']}"

    executed = staff.post(f"{BASE}/outcomes/{renewal_id}/execute/", {"note": "立项"})
    project = RenewalProject.objects.get(source_ref=f"consultation.resolution:{resolution['id']}")
    assert executed.json()["result_ref"] == f"projects.renewalproject:{project.pk}"
    assert (project.name, project.budget) == ("洪川一号院充电桩微更新", Decimal("20000.00"))

    response = staff.post(topic_url(topic, "progress"), {"progress": 100, "note": "完工"})
    assert response.status_code == 200 and response.json()["progress"] == 100

    detail = api_as(ruth).get(topic_url(topic)).json()
    assert detail["resolution"]["text"].startswith("在院坝东侧加装")
    assert [(o["kind"], o["status"], o["result_ref"]) for o in detail["resolution"]["outcomes"]] == [
        ("fund_grant", "done", f"projects.fundentry:{entry.pk}"),
        ("renewal", "done", f"projects.renewalproject:{project.pk}"),
    ]
    assert detail["implementation"]["progress"] == 100
    assert detail["implementation"]["supervisor_name"] == "居民 露丝"
    assert detail["implementation"]["you_supervise"] is True  # ruth is the one named
    assert [w["step"] for w in detail["publicity"]] == ["resolution_notice", "notice"]
    assert all(r["met"] for r in detail["requirements"])
    moved = staff.post(topic_url(topic, "advance"), {"step": "implement"})
    assert moved.json()["current_step"]["code"] == "supervise"


def test_implementation_inputs_are_checked_before_the_service(flow, carol, ursula):
    topic = flow.to_implement()
    staff = api_as(carol)
    response = staff.post(topic_url(topic, "implementation"), {"owner": "", "budget": "abc"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"owner", "budget", "deadline"}
    deadline = (timezone.localdate() + timedelta(days=7)).isoformat()
    response = staff.post(
        topic_url(topic, "implementation"),
        {"owner": "居委会", "budget": "100", "deadline": deadline, "supervisor": ursula.pk},
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"supervisor": ["居民监督员须为本社区居民或党员"]}
    response = staff.post(
        topic_url(topic, "implementation"),
        {"owner": "居委会", "budget": "100", "deadline": deadline, "supervisor": 987654},
    )
    assert response.json()["fields"] == {"supervisor": ["找不到该用户"]}
    response = staff.post(topic_url(topic, "progress"), {"progress": 101})
    assert response.status_code == 400 and "progress" in response.json()["fields"]
    response = staff.post(topic_url(topic, "progress"), {"progress": 50})
    assert response.status_code == 400
    assert response.json()["message"] == "请先明确实施负责人、预算与期限"


def test_an_outcome_is_executed_only_by_staff_and_only_in_implementation(flow, carol, rita):
    topic = flow.to_resolution_notice()
    services.resolution_record(
        actor=carol, topic=topic, text="转网格办理", outcomes=[{"kind": "incident", "title": "修路灯"}]
    )
    outcome = Outcome.objects.get(resolution__topic=topic)
    response = api_as(carol).post(f"{BASE}/outcomes/{outcome.pk}/execute/")
    assert response.status_code == 400 and response.json()["message"] == "决议事项须在「实施」步骤落实"
    response = api_as(rita).post(f"{BASE}/outcomes/{outcome.pk}/execute/")
    assert response.status_code == 403 and response.json()["message"] == DENIED
    outcome.refresh_from_db()
    assert outcome.status == OutcomeStatus.PENDING


def test_a_resolution_with_a_bad_outcome_is_a_400_and_nothing_is_written(flow, carol):
    topic = flow.to_resolution_notice()
    response = api_as(carol).post(
        topic_url(topic, "resolution"),
        {"text": "决议", "outcomes": [{"kind": "fund_grant", "title": "资助"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"outcomes.0": ["请输入有效金额"]}
    response = api_as(carol).post(
        topic_url(topic, "resolution"), {"text": "决议", "outcomes": [{"kind": "lottery"}]}, format="json"
    )
    assert response.status_code == 400 and "outcomes" in response.json()["fields"]
    assert not hasattr(Topic.objects.get(pk=topic.pk), "resolution")


# --- supervision, evaluation, ending ---------------------------------------------------------


def test_only_the_named_supervisor_records_a_check(flow, carol, rita, ruth):
    topic = flow.to_supervise()  # the flow names ruth as supervisor
    url = topic_url(topic, "supervision")
    response = api_as(rita).post(url, {"note": "我来看看"})
    assert response.status_code == 400 and response.json()["message"] == MSG_NOT_SUPERVISOR
    response = api_as(carol).post(url, {"note": "工作人员代记"})
    assert response.status_code == 403  # staff are not resident supervisors
    response = api_as(ruth).post(url, {"note": ""})
    assert response.status_code == 400 and "note" in response.json()["fields"]
    response = api_as(ruth).post(url, {"note": "充电桩已安装，但未接地", "satisfactory": False})
    assert response.status_code == 201, response.content
    assert (response.json()["note"], response.json()["satisfactory"]) == ("充电桩已安装，但未接地", False)
    checks = api_as(rita).get(topic_url(topic)).json()["supervision_checks"]
    assert [(c["note"], c["satisfactory"], c["supervisor_name"]) for c in checks] == [
        ("充电桩已安装，但未接地", False, "居民 露丝")
    ]


def test_evaluation_reopens_then_closes(flow, carol, rita, ruth):
    topic = flow.to_evaluate()
    staff = api_as(carol)
    url = topic_url(topic, "evaluate")
    response = staff.post(url, {"decision": "close"})
    assert response.status_code == 400 and response.json()["message"] == MSG_NO_RATINGS
    assert staff.post(url, {"decision": "maybe"}).json()["fields"].keys() == {"decision"}
    assert api_as(rita).post(url, {"decision": "close"}).status_code == 403

    api_as(rita).post(f"{BASE}/ratings/", {"topic": topic.pk, "score": 2, "comment": "经常坏"})
    seen_by_resident = api_as(ruth).get(topic_url(topic)).json()["ratings"]
    assert [(r["score"], r["comment"], r["rater_name"]) for r in seen_by_resident] == [(2, "经常坏", None)]
    seen_by_staff = staff.get(topic_url(topic)).json()["ratings"]
    assert [(r["score"], r["rater_name"]) for r in seen_by_staff] == [(2, "居民 丽塔")]

    response = staff.post(url, {"decision": "reopen"})
    assert response.json()["fields"] == {"note": ["请说明重新实施的原因"]}
    reopened = staff.post(url, {"decision": "reopen", "note": "返修"}).json()
    assert (reopened["current_step"]["code"], reopened["round"], reopened["ratings"]) == ("implement", 2, [])

    services.implementation_progress(actor=carol, topic=topic, progress=100)
    flow.advance(topic)
    services.supervision_record(actor=ruth, topic=topic, note="已返修")
    flow.advance(topic)
    api_as(rita).post(f"{BASE}/ratings/", {"topic": topic.pk, "score": 5})
    closed = staff.post(url, {"decision": "close", "note": "居民满意"}).json()
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert [r["score"] for r in closed["ratings"]] == [5]  # only this round's


def test_a_topic_whose_vote_failed_can_be_ended(flow, carol, rita):
    topic = flow.to_vote()
    staff = api_as(carol)
    response = staff.post(topic_url(topic, "end"), {"reason": "尚未表决"})
    assert response.status_code == 400 and response.json()["message"] == MSG_NOT_FAILED
    flow.vote(topic, yes=[])
    assert api_as(rita).post(topic_url(topic, "end"), {"reason": "x"}).status_code == 403
    ended = staff.post(topic_url(topic, "end"), {"reason": "多数居民不同意"}).json()
    assert (ended["status"], ended["status_reason"], ended["requirements"]) == (
        "not_passed",
        "多数居民不同意",
        [],
    )


# --- publicity and objections ----------------------------------------------------------------


def test_staff_publish_a_notice_and_answer_its_objections(flow, carol, ruth, sam, ursula):
    topic = flow.to_notice()
    staff = api_as(carol)
    response = staff.post(topic_url(topic, "publicity"), {"content": ""})
    assert response.status_code == 400 and "content" in response.json()["fields"]
    assert api_as(ruth).post(topic_url(topic, "publicity"), {"content": "x"}).status_code == 403
    response = staff.post(topic_url(topic, "publicity"), {"title": "公示：充电桩", "content": "拟加装充电桩"})
    assert response.status_code == 201, response.content
    window = response.json()
    assert (window["title"], window["content"], window["step"]) == ("公示：充电桩", "拟加装充电桩", "notice")
    again = staff.post(topic_url(topic, "publicity"), {"content": "再发一次"})
    assert again.status_code == 400 and again.json()["message"] == MSG_PUBLICITY_EXISTS

    objection = (
        api_as(ruth).post(f"{BASE}/objections/", {"window": window["id"], "text": "离窗户太近"}).json()
    )
    url = f"{BASE}/publicity/{window['id']}/"
    as_resident = api_as(sam).get(url).json()["objections"]
    assert [(o["text"], o["reply"], o["replied_at"], o["author_name"]) for o in as_resident] == [
        ("离窗户太近", "", None, None)
    ]
    assert [o["author_name"] for o in staff.get(url).json()["objections"]] == ["居民 露丝"]
    assert api_as(ursula).get(url).status_code == 404

    reply_url = f"{BASE}/objections/{objection['id']}/reply/"
    assert api_as(ruth).post(reply_url, {"reply": "自己答复"}).status_code == 403
    assert api_as(ursula).post(reply_url, {"reply": "外人答复"}).status_code == 404
    assert staff.post(reply_url, {"reply": ""}).json()["fields"].keys() == {"reply"}
    replied = staff.post(reply_url, {"reply": "将调整到院坝东北角"})
    assert replied.status_code == 200
    assert replied.json()["reply"] == "将调整到院坝东北角" and replied.json()["replied_at"]
    twice = staff.post(reply_url, {"reply": "再答一次"})
    assert twice.status_code == 400 and twice.json()["message"] == "该异议已答复"
    shown = api_as(sam).get(url).json()["objections"][0]
    assert shown["reply"] == "将调整到院坝东北角" and shown["author_name"] is None


# --- the meeting's record --------------------------------------------------------------------


def test_staff_invite_run_speeches_and_keep_minutes(flow, carol, rita, uma, ursula):
    flow.to_deliberate(invite=flow.voters[:4])
    meeting = flow.meeting
    url = f"{BASE}/meetings/{meeting.pk}/"
    staff = api_as(carol)

    response = staff.post(f"{url}invite/", {"category": "resident_rep", "user": uma.pk})
    assert response.status_code == 201, response.content
    assert (response.json()["name"], response.json()["present"]) == ("居民 乌玛", False)
    again = staff.post(f"{url}invite/", {"category": "resident_rep", "user": uma.pk})
    assert (again.status_code, again.json()["fields"]) == (
        400,
        {"user": ["居民 乌玛 已在本次会议的参会名单中"]},
    )
    response = staff.post(f"{url}invite/", {"category": "property", "name": "王经理"})
    assert (response.status_code, response.json()["category_display"]) == (201, "物业企业")
    response = staff.post(f"{url}invite/", {"category": "resident_rep", "user": ursula.pk})
    assert response.status_code == 400
    assert response.json()["fields"] == {"user": [MSG_INVITEE_OUTSIDE.format(name="南街居民 厄休拉")]}
    response = staff.post(f"{url}invite/", {"category": "resident_rep", "user": 987654})
    assert response.json()["fields"] == {"user": ["找不到该用户"]}
    assert staff.post(f"{url}invite/", {"category": "alien", "name": "x"}).json()["fields"].keys() == {
        "category"
    }
    assert api_as(rita).post(f"{url}invite/", {"category": "property", "name": "x"}).status_code == 403
    assert meeting.invitees.count() == 6

    staff.post(f"{url}open/")
    invitee = meeting.invitees.get(user=uma)
    staff.post(f"{url}sign-in/", {"invitee": invitee.pk})
    speech = staff.post(f"{url}speak/", {"invitee": invitee.pk}).json()
    response = staff.post(f"{url}end-speech/", {"speech": speech["id"], "summary": "支持加装，注意消防"})
    assert response.status_code == 200, response.content
    ended = response.json()
    assert (ended["invitee_name"], ended["summary"], ended["cut_off"]) == (
        "居民 乌玛",
        "支持加装，注意消防",
        False,
    )
    assert ended["ended_at"] is not None
    assert staff.post(f"{url}end-speech/", {"speech": 987654}).status_code == 404

    response = staff.post(f"{url}minutes/", {"minutes": "纪要草稿：乌玛支持加装。"})
    assert response.status_code == 200 and response.json()["minutes"] == "纪要草稿：乌玛支持加装。"
    assert api_as(rita).post(f"{url}minutes/", {"minutes": "改纪要"}).status_code == 403
    meeting.refresh_from_db()
    assert meeting.minutes == "纪要草稿：乌玛支持加装。"


# --- uploads ---------------------------------------------------------------------------------


def test_a_meeting_photo_is_stored_shown_and_served_only_within_scope(flow, carol, rita, ursula, client):
    topic = flow.to_vote()
    url = f"{BASE}/meetings/{flow.meeting.pk}/attachments/"
    response = api_as(carol).post(url, {"image": png(), "caption": "签到表"}, format="multipart")
    assert response.status_code == 201, response.content
    photo = response.json()
    stored = Attachment.objects.get()
    assert photo == {
        "id": stored.pk,
        "caption": "签到表",
        "step": "vote",
        "step_name": "表决",
        "meeting": flow.meeting.pk,
        "url": reverse("consultation:attachment", args=[stored.pk]),
        "thumb_url": reverse("consultation:attachment-thumb", args=[stored.pk]),
        "uploaded_at": photo["uploaded_at"],
    }
    assert [a["id"] for a in api_as(rita).get(topic_url(topic)).json()["attachments"]] == [stored.pk]

    image = served(carol, photo["url"], client)
    assert image.status_code == 200
    assert b"".join(image.streaming_content)[:3] == b"\xff\xd8\xff"  # re-encoded as JPEG
    assert served(carol, photo["thumb_url"], client).status_code == 200
    assert served(ursula, photo["url"], client).status_code == 404


def test_a_bad_meeting_upload_is_a_400_and_stores_nothing(flow, carol, rita, ursula):
    flow.to_vote()
    url = f"{BASE}/meetings/{flow.meeting.pk}/attachments/"
    staff = api_as(carol)
    response = staff.post(url, {"image": junk(), "caption": "纪要"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["fields"] == {"image": [MSG_NOT_IMAGE]}
    response = staff.post(url, {"caption": "没有文件"}, format="multipart")
    assert response.status_code == 400 and response.json()["fields"] == {"image": ["请选择要上传的照片"]}
    response = staff.post(url, {"image": "not-a-file"}, format="multipart")
    assert response.status_code == 400 and response.json()["fields"] == {"image": ["请选择要上传的照片"]}
    assert staff.post(url, {"caption": "x"}, format="json").status_code == 415
    assert api_as(rita).post(url, {"image": png()}, format="multipart").status_code == 403
    assert api_as(ursula).post(url, {"image": png()}, format="multipart").status_code == 404
    assert not Attachment.objects.exists()


def test_a_publicity_photo_is_recorded_for_its_step(flow, carol, rita, ursula, client):
    topic = flow.to_notice()
    window = services.publicity_open(actor=carol, topic=topic, content="公示")
    url = f"{BASE}/publicity/{window.pk}/photos/"
    staff = api_as(carol)
    response = staff.post(url, {"image": junk()}, format="multipart")
    assert response.status_code == 400 and response.json()["fields"] == {"image": [MSG_NOT_IMAGE]}
    assert not Attachment.objects.exists()
    assert api_as(rita).post(url, {"image": png()}, format="multipart").status_code == 403
    assert api_as(ursula).post(url, {"image": png()}, format="multipart").status_code == 404

    response = staff.post(url, {"image": png(color="blue"), "caption": "公告栏"}, format="multipart")
    assert response.status_code == 201, response.content
    photo = response.json()
    assert (photo["step"], photo["meeting"], photo["caption"]) == ("notice", None, "公告栏")
    shown = api_as(rita).get(topic_url(topic)).json()["attachments"]
    assert [(a["id"], a["url"]) for a in shown] == [(photo["id"], photo["url"])]
    assert served(rita, photo["url"], client).status_code == 200
    assert served(ursula, photo["thumb_url"], client).status_code == 404


# --- scope -----------------------------------------------------------------------------------


def test_a_resident_of_another_community_gets_404_on_everything_in_a(flow, carol, ruth, ursula):
    topic = flow.to_implement(outcomes=[{"kind": "renewal", "title": "充电桩微更新"}])
    meeting = flow.meeting
    outcome = flow.resolution.outcomes.get()
    other = flow.to_notice(flow.propose(title="第二个议题"))
    window = services.publicity_open(actor=carol, topic=other, content="公示")
    objection = services.objection_lodge(actor=ruth, window=window, text="有异议")
    outsider = api_as(ursula)
    deadline = (timezone.localdate() + timedelta(days=7)).isoformat()
    writes = [
        (topic_url(topic, "resolution"), {"text": "改决议"}),
        (topic_url(topic, "implementation"), {"owner": "x", "budget": "1", "deadline": deadline}),
        (topic_url(topic, "progress"), {"progress": 10}),
        (topic_url(topic, "supervision"), {"note": "x"}),
        (topic_url(topic, "evaluate"), {"decision": "close"}),
        (topic_url(topic, "end"), {"reason": "x"}),
        (topic_url(other, "publicity"), {"content": "x"}),
        (f"{BASE}/outcomes/{outcome.pk}/execute/", {}),
        (f"{BASE}/meetings/{meeting.pk}/invite/", {"category": "property", "name": "x"}),
        (f"{BASE}/meetings/{meeting.pk}/end-speech/", {"speech": 1}),
        (f"{BASE}/meetings/{meeting.pk}/minutes/", {"minutes": "x"}),
        (f"{BASE}/objections/{objection.pk}/reply/", {"reply": "x"}),
    ]
    for url, body in writes:
        response = outsider.post(url, body)
        assert (url, response.status_code) == (url, 404)
        assert response.json() == {"message": "未找到该记录", "fields": {}}
    for url in (topic_url(topic), f"{BASE}/outcomes/{outcome.pk}/", f"{BASE}/publicity/{window.pk}/"):
        assert outsider.get(url).status_code == 404
    assert Outcome.objects.get(pk=outcome.pk).status == OutcomeStatus.PENDING
    assert not hasattr(Topic.objects.get(pk=topic.pk), "implementation")


# --- query count -----------------------------------------------------------------------------


def _fresh(user):
    """A client for a fresh copy of the user, so its grants load as on a real request."""
    return api_as(type(user).objects.get(pk=user.pk))


def test_the_topic_detail_costs_a_fixed_number_of_queries(flow, carol, voters, django_assert_max_num_queries):
    topic = flow.to_evaluate()
    services.rating_submit(actor=voters[0], topic=topic, score=4)

    def count():
        client = _fresh(carol)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(topic_url(topic)).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for voter in voters[1:]:
        services.rating_submit(actor=voter, topic=topic, score=5)
    for color in ("red", "green", "blue"):
        services.meeting_attach(actor=carol, meeting=flow.meeting, upload=png(color=color), caption=color)
    assert count() == before  # more ratings and photos, same queries
    # grants + topic (joined with step, community, compound, proposer, grid, template,
    # resolution, implementation and its supervisor) + steps + outcomes + publicity windows
    # with their objection counts + attachments + supervision checks + this round's ratings
    # + the 评议 checklist's one query
    client = _fresh(carol)
    with django_assert_max_num_queries(9):
        data = client.get(topic_url(topic)).json()
    assert (len(data["ratings"]), len(data["attachments"]), len(data["publicity"])) == (5, 3, 2)
