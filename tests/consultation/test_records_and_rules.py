"""The meeting's records and the rules behind them: the speaker's limit held by the server,
secret ballots that cannot be lined up with receipts, photos for the minutes and the 公示,
a resolution that opens a grid incident, and community templates cloned and edited from
their pages."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone
from PIL import Image

from consultation import services
from consultation.models import (
    Attachment,
    Ballot,
    ProcedureTemplate,
    Resolution,
    Speech,
    TopicStatus,
    VoteReceipt,
)
from qionglai.core.errors import ApplicationError
from tests.consultation.conftest import expire_publicity

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _png(name="photo.png", size=(320, 240)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


# --- the speaker's time limit is the server's -------------------------------------------


def _open_meeting(flow):
    topic = flow.to_deliberate()
    services.meeting_open(actor=flow.staff, meeting=flow.meeting)
    for invitee in flow.meeting.invitees.all():
        services.meeting_sign_in(actor=flow.staff, invitee=invitee)
    return topic


def test_a_speech_that_runs_past_its_limit_ends_at_the_limit(flow, carol):
    _open_meeting(flow)
    first, second = flow.meeting.invitees.order_by("id")[:2]
    speech = services.speech_start(actor=carol, invitee=first, limit_seconds=60)
    assert services.current_speech(flow.meeting) == speech
    with time_machine.travel(timezone.now() + timedelta(seconds=95)):
        # nobody pressed 结束发言: the floor is no longer the speaker's
        assert services.current_speech(flow.meeting) is None
        ended = services.speech_end(actor=carol, speech=speech, summary="建议装在东侧")
    assert ended.cut_off is True
    assert ended.ended_at == speech.started_at + timedelta(seconds=60)
    assert ended.summary == "建议装在东侧"

    # giving the floor to the next speaker ends a running speech now, not at its limit
    speech2 = services.speech_start(actor=carol, invitee=second, limit_seconds=120)
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        services.speech_start(actor=carol, invitee=first, limit_seconds=60)
    speech2.refresh_from_db()
    assert speech2.cut_off is False
    assert timedelta(seconds=29) < speech2.ended_at - speech2.started_at < timedelta(seconds=60)


def test_the_meeting_page_shows_time_up_from_the_server(flow, carol):
    _open_meeting(flow)
    invitee = flow.meeting.invitees.order_by("id").first()
    services.speech_start(actor=carol, invitee=invitee, limit_seconds=60)
    page = _client(carol).get(f"/consultation/meetings/{flow.meeting.pk}/").content.decode()
    assert 'data-testid="speaker"' in page
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        page = _client(carol).get(f"/consultation/meetings/{flow.meeting.pk}/").content.decode()
    assert 'data-testid="speaker"' not in page
    assert f"{invitee.name} 的发言时间已到，已自动结束" in page


def test_closing_the_meeting_records_an_overrun_speech_at_its_limit(flow, carol):
    _open_meeting(flow)
    speech = services.speech_start(
        actor=carol, invitee=flow.meeting.invitees.order_by("id").first(), limit_seconds=30
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        services.meeting_close(actor=carol, meeting=flow.meeting, minutes="纪要")
    speech = Speech.objects.get(pk=speech.pk)
    assert speech.cut_off and speech.ended_at == speech.started_at + timedelta(seconds=30)


# --- secret ballots --------------------------------------------------------------------


def _system_columns(model, motion_id: int) -> list[tuple[str, str]]:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        sql = f"SELECT xmin::text, ctid::text FROM {table} WHERE motion_id = %s"  # noqa: S608 - a model's table
        cursor.execute(sql, [motion_id])
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)  # each vote its own transaction, as in production
@pytest.mark.skipif(connection.vendor != "postgresql", reason="xmin is PostgreSQL's")
def test_a_closed_secret_ballot_cannot_be_lined_up_with_the_receipts(flow, carol, voters):
    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="无记名", secret=True)
    yes, no = motion.choices.get(kind="for"), motion.choices.get(kind="against")
    for i, voter in enumerate(voters):
        services.vote_cast(actor=voter, motion=motion, choice=yes if i % 2 else no)

    receipts_xmin = {x for x, _ in _system_columns(VoteReceipt, motion.pk)}
    ballots_before = set(Ballot.objects.filter(motion=motion).values_list("id", flat=True))
    # while the vote is open, each ballot carries its voter's transaction id (a receipt was
    # written in the same transaction), so the five could be paired with the receipts ...
    assert len({x for x, _ in _system_columns(Ballot, motion.pk)}) == 5

    services.motion_close(actor=carol, motion=motion)

    ballots_xmin = {x for x, _ in _system_columns(Ballot, motion.pk)}
    # ... after closing, every ballot was written by the closing transaction alone
    assert len(ballots_xmin) == 1 and not ballots_xmin & receipts_xmin
    assert not ballots_before & set(Ballot.objects.filter(motion=motion).values_list("id", flat=True))
    assert Ballot.objects.filter(motion=motion, voter__isnull=False).count() == 0
    counts = {c.kind: c.votes for c in motion.choices.all()}
    assert counts == {"for": 2, "against": 3, "abstain": 0}
    assert VoteReceipt.objects.filter(motion=motion).count() == 5


# --- photos: minutes and 公示照片 --------------------------------------------------------


def test_a_meeting_photo_is_stored_clean_and_shown_only_inside_the_community(flow, carol, rita, ursula):
    _open_meeting(flow)
    attachment = services.meeting_attach(actor=carol, meeting=flow.meeting, upload=_png(), caption="签到表")
    assert attachment.image.name.startswith("consultation/") and attachment.thumbnail
    assert _client(rita).get(f"/consultation/attachments/{attachment.pk}/").status_code == 200
    assert _client(carol).get(f"/consultation/attachments/{attachment.pk}/thumb/").status_code == 200
    assert _client(ursula).get(f"/consultation/attachments/{attachment.pk}/").status_code == 404
    page = _client(carol).get(f"/consultation/meetings/{flow.meeting.pk}/").content.decode()
    assert f"/consultation/attachments/{attachment.pk}/thumb/" in page


def test_junk_is_refused_with_a_field_message_and_nothing_is_stored(flow, carol):
    _open_meeting(flow)
    junk = SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\nnot really", content_type="image/png")
    with pytest.raises(ValidationError) as error:
        services.meeting_attach(actor=carol, meeting=flow.meeting, upload=junk)
    assert "image" in error.value.message_dict
    assert Attachment.objects.count() == 0


def test_no_photos_for_a_meeting_not_yet_held(flow, carol):
    topic = flow.to_notice()
    services.publicity_open(actor=carol, topic=topic, content="公示")
    meeting = flow.schedule(topic)
    with pytest.raises(ApplicationError):
        services.meeting_attach(actor=carol, meeting=meeting, upload=_png())
    assert Attachment.objects.count() == 0


def test_the_page_uploads_the_publicity_photo_a_template_requires(flow, carol, community_a):
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    own = services.template_clone(actor=carol, source=default, community=community_a)
    services.template_step_update(
        actor=carol, step=own.steps.get(code="notice"), required_records=["publicity_photo"]
    )
    topic = flow.to_notice()
    window = services.publicity_open(actor=carol, topic=topic, content="公示")
    flow.schedule(topic)
    expire_publicity(topic)
    client = _client(carol)
    url = f"/consultation/topics/{topic.pk}/"

    client.post(
        url + "publicity/photos/", {"window": window.pk, "image": SimpleUploadedFile("a.png", b"junk")}
    )
    assert Attachment.objects.count() == 0
    response = client.post(
        url + "publicity/photos/", {"window": window.pk, "image": _png(), "caption": "公告栏"}, follow=True
    )
    assert "公示照片已上传" in response.content.decode()
    photo = Attachment.objects.get()
    assert photo.step == window.step and photo.meeting is None and photo.caption == "公告栏"
    assert 'data-testid="publicity-photo"' in response.content.decode()
    assert flow.advance(topic).current_step.code == "deliberate"


def test_a_photo_only_for_the_notice_of_the_current_step(flow, carol):
    topic = flow.to_notice()
    window = services.publicity_open(actor=carol, topic=topic, content="公示")
    flow.schedule(topic)
    expire_publicity(topic)
    flow.advance(topic)
    with pytest.raises(ApplicationError) as error:
        services.publicity_add_photo(actor=carol, window=window, upload=_png())
    assert "当前步骤「协商」" in error.value.message


# --- a resolution that hands work to the grid line ----------------------------------------


def test_a_resolution_can_open_a_grid_incident(flow, carol, community_a):
    from grids.models import Category, Incident

    Category.objects.get_or_create(code="1201", defaults={"name": "其他事项"})
    topic = flow.to_implement(
        outcomes=[{"kind": "incident", "title": "清理院坝堆放的建筑垃圾"}],
    )
    outcome = flow.resolution.outcomes.get()
    done = services.outcome_execute(actor=carol, outcome=outcome)
    incident = Incident.objects.get(source_ref=f"consultation.topic:{topic.pk}")
    assert done.status == "done" and done.result_ref == f"grids.incident:{incident.pk}"
    assert incident.category.code == "1201" and incident.community == community_a
    assert "清理院坝堆放的建筑垃圾" in incident.description and topic.title in incident.description
    # executed once: a retry changes nothing and opens no second incident
    services.outcome_execute(actor=carol, outcome=outcome)
    assert Incident.objects.filter(source_ref=f"consultation.topic:{topic.pk}").count() == 1
    assert flow.refresh(topic).status == TopicStatus.ACTIVE


# --- templates: clone and edit from the pages --------------------------------------------


def test_staff_clone_the_default_and_edit_it_without_touching_running_topics(flow, carol, community_a):
    running = flow.to_notice()
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    client = _client(carol)
    assert "默认模板" in client.get("/consultation/templates/").content.decode()

    response = client.post(
        "/consultation/templates/",
        {"source": default.pk, "community": community_a.pk, "name": "洪川议事规则"},
    )
    own = ProcedureTemplate.objects.get(community=community_a, is_current=True)
    assert response.url == f"/consultation/templates/{own.pk}/"
    assert own.name == "洪川议事规则" and own.cloned_from == default

    page = client.get(response.url)
    form = page.context["form"]
    data = {name: field.value() for name, field in ((n, form[n]) for n in form.fields)}
    data = {k: v for k, v in data.items() if v is not None}
    data["notice-min_days"] = 7
    data["resolution_notice-required_records"] = ["publicity_photo"]
    data["vote-pass_ratio"] = "66.7"
    data["vote-pass_strict"] = "0"
    saved = client.post(response.url, data, follow=True)
    assert "模板已保存" in saved.content.decode()
    own.refresh_from_db()
    steps = {s.code: s for s in own.steps.all()}
    assert steps["notice"].min_days == 7
    assert steps["resolution_notice"].required_records == ["publicity_photo"]
    assert str(steps["vote"].pass_ratio) == "0.667" and steps["vote"].pass_strict is False
    assert steps["propose"].min_days == 0  # untouched fields stay as they were

    assert flow.refresh(running).template == default
    fresh = flow.propose(title="新议题")
    assert fresh.template == own


def test_editing_a_template_in_use_from_the_page_makes_one_new_version(flow, carol, community_a):
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    own = services.template_clone(actor=carol, source=default, community=community_a)
    flow.propose()  # runs on `own`
    client = _client(carol)
    form = client.get(f"/consultation/templates/{own.pk}/").context["form"]
    data = {n: form[n].value() for n in form.fields if form[n].value() is not None}
    data |= {"notice-min_days": 6, "deliberate-min_days": 1, "name": "洪川议事规则（修订）"}
    response = client.post(f"/consultation/templates/{own.pk}/", data, follow=True)
    newest = ProcedureTemplate.objects.get(community=community_a, is_current=True)
    assert newest.version == own.version + 1
    assert "正在进行的 1 个议题仍按第 1 版办理" in response.content.decode()
    assert ProcedureTemplate.objects.filter(community=community_a).count() == 2  # one version, not two
    assert newest.steps.get(code="notice").min_days == 6 and newest.steps.get(code="deliberate").min_days == 1
    assert own.steps.get(code="notice").min_days == 5
    # the old version is read-only now
    old_page = client.get(f"/consultation/templates/{own.pk}/")
    assert old_page.context["form"] is None and "这是历史版本" in old_page.content.decode()


def test_bad_template_input_is_a_chinese_form_error_and_nothing_changes(flow, carol, community_a):
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    own = services.template_clone(actor=carol, source=default, community=community_a)
    client = _client(carol)
    form = client.get(f"/consultation/templates/{own.pk}/").context["form"]
    data = {n: form[n].value() for n in form.fields if form[n].value() is not None}
    data |= {"notice-min_days": 0, "vote-quorum_ratio": "150", "propose-required_records": ["bogus"]}
    page = client.post(f"/consultation/templates/{own.pk}/", data).content.decode()
    assert "请按提示修改后再保存" in page
    assert "确保该值大于或等于1" in page and "确保该值小于或等于100" in page
    assert "bogus" in page  # 选择一个有效的选项。bogus 不在可用的选项中。
    assert own.steps.get(code="notice").min_days == 5
    assert ProcedureTemplate.objects.filter(community=community_a).count() == 1


def test_the_template_service_refuses_unknown_fields_and_records(carol, community_a):
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    own = services.template_clone(actor=carol, source=default, community=community_a)
    with pytest.raises(ValidationError) as error:
        services.template_update(actor=carol, template=own, steps={"notice": {"kind": "vote"}})
    assert "不能修改的字段：kind" in str(error.value)
    with pytest.raises(ValidationError) as error:
        services.template_update(
            actor=carol, template=own, steps={"notice": {"required_records": ["selfie"]}}
        )
    assert "steps.notice.required_records" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.template_update(actor=carol, template=own, steps={"notice": {"min_days": 0}})
    assert own.steps.get(code="notice").min_days == 5


def test_residents_read_the_rules_but_cannot_clone_or_edit(flow, carol, rita, dave, community_a):
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    client = _client(rita)
    page = client.get("/consultation/templates/")
    assert page.status_code == 200 and page.context["clone_form"] is None
    assert client.get(f"/consultation/templates/{default.pk}/").context["form"] is None
    assert client.post(f"/consultation/templates/{default.pk}/", {"name": "x"}).status_code == 403
    # staff of community B cannot make a template for community A
    response = _client(dave).post(
        "/consultation/templates/", {"source": default.pk, "community": community_a.pk}, follow=True
    )
    assert "选择一个有效的选项" in response.content.decode()
    assert not ProcedureTemplate.objects.filter(community=community_a).exists()
    # community staff cannot edit the city's default
    assert _client(carol).get(f"/consultation/templates/{default.pk}/").context["form"] is None


def test_an_unknown_incident_category_is_refused_when_the_resolution_is_recorded(flow, carol):
    from grids.models import Category

    Category.objects.get_or_create(code="1201", defaults={"name": "其他事项"})
    topic = flow.to_resolution_notice()
    with pytest.raises(ValidationError) as error:
        services.resolution_record(
            actor=carol,
            topic=topic,
            text="转办",
            outcomes=[{"kind": "incident", "title": "清运", "incident_category": "9999"}],
        )
    assert "事件类别「9999」不存在或已停用" in str(error.value)
    assert not Resolution.objects.filter(topic=topic).exists()


def test_the_resolution_form_hands_an_item_to_the_grid_line(flow, carol):
    from grids.models import Category

    general, _ = Category.objects.get_or_create(code="12", defaults={"name": "其他"})
    Category.objects.get_or_create(code="1201", defaults={"name": "其他事项", "parent": general})
    topic = flow.to_resolution_notice()
    response = _client(carol).post(
        f"/consultation/topics/{topic.pk}/resolution/",
        {
            "text": "同意清理院坝杂物",
            "incident_title": "清理院坝堆放的建筑垃圾",
            "incident_category": "1201",
        },
        follow=True,
    )
    assert "决议已记录" in response.content.decode()
    outcome = flow.refresh(topic).resolution.outcomes.get()
    assert (outcome.kind, outcome.title, outcome.incident_category) == (
        "incident",
        "清理院坝堆放的建筑垃圾",
        "1201",
    )


def test_an_implementation_deadline_cannot_be_in_the_past(flow, carol):
    topic = flow.to_implement()
    with pytest.raises(ValidationError) as error:
        services.implementation_set(
            actor=carol,
            topic=topic,
            owner="居委会",
            budget="100",
            deadline=timezone.localdate() - timedelta(days=1),
        )
    assert error.value.message_dict["deadline"] == ["完成期限不能早于今天"]


def test_an_old_template_version_is_read_only(flow, carol, community_a):
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    own = services.template_clone(actor=carol, source=default, community=community_a)
    flow.propose()
    newer = services.template_update(actor=carol, template=own, steps={"notice": {"min_days": 6}})
    assert newer.pk != own.pk
    with pytest.raises(ApplicationError) as error:
        services.template_update(actor=carol, template=own, steps={"notice": {"min_days": 9}})
    assert "历史版本" in error.value.message
    assert newer.steps.get(code="notice").min_days == 6
