"""Community staff clone the 「默认模板」, require a 公示照片 on the notice step from the edit
page, and then meet that requirement by photographing the notice board; the meeting page
takes a photo of the sign-in sheet and shows a speaker whose time ran out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image

from consultation import services
from consultation.models import ProcedureTemplate, PublicityWindow, TemplateStep, Topic
from consultation.reference import seed_default_template

from .conftest import login, shot, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 1024, "height": 1366}


def _photo(tmp_path, name: str):
    path = tmp_path / name
    Image.new("RGB", (640, 480), (230, 200, 60)).save(path, "JPEG")
    return path


def test_staff_clone_and_edit_a_template_then_meet_its_photo_requirement(
    new_page, carol, rita, community_a, tmp_path
):
    seed_default_template(ProcedureTemplate, TemplateStep, settings.CITY_PATH)
    page = new_page()
    page.set_viewport_size(TABLET)
    login(page, "carol")

    page.goto("/consultation/templates/")
    assert "默认模板" in page.locator("[data-testid=templates]").inner_text()
    page.fill("input[name=name]", "洪川社区议事规则")
    submit(page, "button:has-text('复制')")
    assert "已复制为本社区模板" in page.locator(".messages").inner_text()
    notice = page.locator("[data-testid=step-notice]")
    notice.locator("input[name='notice-min_days']").fill("7")
    notice.get_by_label("公示照片").check()
    shot(page, "consultation-template-edit-tablet")
    submit(page, "button:has-text('保存修改')")
    assert "模板已保存" in page.locator(".messages").inner_text()
    own = ProcedureTemplate.objects.get(community=community_a, is_current=True)
    assert own.steps.get(code="notice").min_days == 7
    assert own.steps.get(code="notice").required_records == ["publicity_photo"]

    # a topic on the new template, through review to its notice
    topic = services.topic_propose(
        actor=rita, title="楼道堆物清理", description="三单元楼道堆满杂物", community=community_a
    )
    topic = services.topic_advance(actor=carol, topic=topic, step_code="propose")
    topic = services.topic_review(actor=carol, topic=topic, decision="accept")
    services.publicity_open(actor=carol, topic=topic, content="拟商议楼道堆物清理，欢迎参会。")
    services.meeting_schedule(
        actor=carol,
        topic=topic,
        title="楼道堆物小圆桌",
        scheduled_at=timezone.now() + timedelta(days=8),
        invitees=[{"user": rita, "category": "resident_rep"}],
    )
    past = timezone.now() - timedelta(minutes=1)
    PublicityWindow.objects.filter(topic=topic).update(opened_at=past - timedelta(days=7), ends_at=past)
    services.publicity_close_due()

    page.goto(f"/consultation/topics/{topic.pk}/")
    checklist = page.locator("[data-testid=checklist]")
    assert "公示照片：已上传张贴照片" in checklist.inner_text()
    submit(page, "[data-testid=advance]")
    assert "公示照片" in page.locator(".messages").inner_text()  # refused, with the reason
    page.set_input_files("input[name=image]", str(_photo(tmp_path, "board.jpg")))
    page.fill("input[name=caption]", "社区公告栏")
    submit(page, "button:has-text('上传公示照片')")
    assert "公示照片已上传" in page.locator(".messages").inner_text()
    assert page.locator("[data-testid=publicity-photo]").count() == 1
    # the thumbnail is loading="lazy": bring it into view and wait for it to decode, so a slow
    # machine does not read naturalWidth before the image has arrived
    page.locator("[data-testid=publicity-photo]").scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=publicity-photo]');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    shot(page, "consultation-publicity-photo-tablet")
    submit(page, "[data-testid=advance]")
    assert "已完成本步骤" in page.locator(".messages").inner_text()
    assert Topic.objects.get(pk=topic.pk).current_step.code == "deliberate"

    # the meeting: a photo of the sign-in sheet, and a speaker whose time runs out
    meeting = topic.meetings.get()
    page.goto(f"/consultation/meetings/{meeting.pk}/")
    submit(page, "button:has-text('宣布开会')")
    submit(page, "[data-testid=invitee] button:has-text('签到')")
    page.set_input_files("input[name=image]", str(_photo(tmp_path, "signin.jpg")))
    page.fill("input[name=caption]", "签到表")
    submit(page, "button:has-text('上传照片')")
    assert page.locator("[data-testid=attachment]").count() == 1
    submit(page, "[data-testid=invitee] button:has-text('请发言')")
    assert page.locator("[data-testid=speaker]").inner_text() == rita.display_name
    # the limit passes (moved in the database: the browser and server share the real clock)
    from consultation.models import Speech

    Speech.objects.filter(meeting=meeting).update(started_at=timezone.now() - timedelta(minutes=4))
    page.reload()
    assert "发言时间已到，已自动结束" in page.locator("[data-testid=no-speaker]").inner_text()
    page.fill("input[aria-label=发言要点]", "建议每月集中清运一次")
    submit(page, "button:has-text('保存要点')")
    assert "时间到" in page.locator("[data-testid=speeches]").inner_text()
    assert "建议每月集中清运一次" in page.locator("[data-testid=speeches]").inner_text()
    shot(page, "consultation-meeting-photos-tablet")


def test_a_resident_reads_the_rules_on_a_phone(new_page, rita, community_a):
    seed_default_template(ProcedureTemplate, TemplateStep, settings.CITY_PATH)
    phone = new_page(phone=True)
    login(phone, "rita")
    phone.goto("/consultation/")
    phone.click("text=本社区议事规则（九步）")
    phone.click("text=查看")
    steps = phone.locator("[data-testid=steps]").inner_text()
    for name in ["提议", "审议", "公示议题", "协商", "表决", "决议公示", "实施", "监督", "评议"]:
        assert name in steps
    assert "实到人数超过应到人数的 50%" in steps
    shot(phone, "consultation-rules-phone")
    assert phone.locator("[data-testid=template-form]").count() == 0


def test_staff_find_a_resident_by_name_among_many_when_inviting(new_page, carol, rita, community_a):
    from consultation.models import Invitee
    from qionglai.users.models import Role
    from tests.factories import GrantFactory, UserFactory

    seed_default_template(ProcedureTemplate, TemplateStep, settings.CITY_PATH)
    for i in range(20):
        GrantFactory(
            user=UserFactory(username=f"nb{i}", real_name=f"居民 邻居{i:02d}"),
            role=Role.RESIDENT,
            path=community_a.path,
        )
    zhang = UserFactory(username="zhang", real_name="张三丰")
    GrantFactory(user=zhang, role=Role.PARTY_MEMBER, path=community_a.path)
    topic = services.topic_propose(
        actor=rita, title="增设快递柜", description="快递堆在门卫室", community=community_a
    )
    topic = services.topic_advance(actor=carol, topic=topic, step_code="propose")
    topic = services.topic_review(actor=carol, topic=topic, decision="accept")

    page = new_page()
    page.set_viewport_size(TABLET)
    login(page, "carol")
    page.goto(f"/consultation/topics/{topic.pk}/")
    search = page.get_by_label("按姓名筛选")
    search.fill("张三")
    members = page.locator("#id_members > div")
    assert members.count() == 23  # 20 neighbours, 张三丰, rita and carol herself
    assert [t.strip() for t in members.filter(has=page.locator(":visible")).all_inner_texts()] == [
        "张三丰（党员）"
    ]
    page.get_by_label("张三丰").check()
    assert "已选 1 人" in page.locator(".field .actions small").inner_text()
    shot(page, "consultation-invite-filter-tablet")
    submit(page, "button:has-text('安排会议并通知')")
    assert "会议已安排" in page.locator(".messages").inner_text()
    assert list(Invitee.objects.filter(meeting__topic=topic).values_list("name", flat=True)) == ["张三丰"]
