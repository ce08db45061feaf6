"""邻聚小圆桌 in a real browser: a resident proposes on a phone; community staff take the topic
from 提议 to 决议公示 on a tablet with a meeting and a vote; the resident votes on the phone
and then sees the resolution notice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from consultation import services
from consultation.models import ProcedureTemplate, PublicityWindow, TemplateStep, Topic
from consultation.reference import seed_default_template
from qionglai.users.models import Role
from tests.factories import GrantFactory, UserFactory

from .conftest import login, shot, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 1024, "height": 1366}


def _resident(username, name, community):
    user = UserFactory(username=username, real_name=name)
    GrantFactory(user=user, role=Role.RESIDENT, path=community.path)
    return user


def _notice_period_passes():
    """Five days pass: the sweep compares against the database clock, so move the window."""
    past = timezone.now() - timedelta(minutes=1)
    PublicityWindow.objects.filter(closed_at__isnull=True).update(
        opened_at=past - timedelta(days=5), ends_at=past
    )
    services.publicity_close_due()


def _advance(page, step_name):
    submit(page, "[data-testid=advance]")
    assert "已完成本步骤" in page.locator(".messages").inner_text(), page.locator(".messages").inner_text()


def test_staff_take_a_topic_to_the_resolution_notice_and_a_resident_sees_it(
    new_page, carol, rita, community_a, compound_a
):
    seed_default_template(ProcedureTemplate, TemplateStep, settings.CITY_PATH)
    ruth = _resident("ruth", "居民 露丝", community_a)
    sam = _resident("sam", "居民 萨姆", community_a)

    # 1 提议 — the resident, on her phone
    phone = new_page(phone=True)
    login(phone, "rita")
    phone.goto("/consultation/")
    shot(phone, "consultation-resident-home-phone")
    phone.click("text=我要提议题")
    phone.fill("input[name=title]", "院坝加装电动车充电桩")
    phone.fill("textarea[name=description]", "楼道飞线充电有火灾隐患，希望在院坝加装充电桩。")
    phone.select_option("select[name=compound]", label="洪川一号院")
    shot(phone, "consultation-propose-phone")
    phone.click("text=提交议题")
    assert "议题已提交" in phone.locator(".messages").inner_text()
    topic = Topic.objects.get(title="院坝加装电动车充电桩")

    # staff on a tablet
    tablet = new_page()
    tablet.set_viewport_size(TABLET)
    login(tablet, "carol")
    tablet.goto("/consultation/")
    assert "院坝加装电动车充电桩" in tablet.locator("[data-testid=board]").inner_text()
    shot(tablet, "consultation-board-tablet")
    tablet.click("text=院坝加装电动车充电桩")
    detail = tablet.url
    _advance(tablet, "提议")

    # 2 审议
    tablet.check("input[name=decision][value=accept]")
    tablet.click("text=保存审议结论")
    assert "当前步骤：3. 公示议题" in tablet.locator("[data-testid=current-step]").inner_text()

    # 3 公示议题: the checklist shows what is missing; publish, invite, let the period pass
    assert "✗" not in tablet.locator("[data-testid=checklist]").inner_text()  # marks are CSS
    tablet.fill("textarea[name=content]", "拟于下周召开小圆桌会议商议加装充电桩，欢迎居民参加。")
    tablet.click("button:has-text('发布公示')")
    tablet.check(f"input[name=members][value='{rita.pk}']")
    tablet.check(f"input[name=members][value='{ruth.pk}']")
    tablet.check(f"input[name=members][value='{sam.pk}']")
    tablet.fill("textarea[name=guests]", "王经理,物业企业")
    tablet.click("text=安排会议并通知")
    assert "会议已安排" in tablet.locator(".messages").inner_text()
    shot(tablet, "consultation-notice-step-tablet")
    tablet.click("[data-testid=advance]")
    assert "公示期满" in tablet.locator(".messages").inner_text()  # refused: the period runs
    _notice_period_passes()
    tablet.goto(detail)
    _advance(tablet, "公示议题")

    # 4 协商 — run the meeting
    tablet.click("text=进入会议")
    tablet.click("text=宣布开会")
    for name in ("居民 丽塔", "居民 露丝", "居民 萨姆"):
        tablet.locator("[data-testid=invitee]", has_text=name).locator("text=签到").click()
    assert tablet.locator("[data-testid=present-count]").inner_text() == "3"
    tablet.locator("[data-testid=invitee]", has_text="居民 露丝").locator("text=请发言").click()
    assert tablet.locator("[data-testid=speaker]").inner_text() == "居民 露丝"
    tablet.fill("input[name=text]", "在院坝东侧加装 10 个充电桩，由物业管理")
    tablet.click("text=记录方案")
    shot(tablet, "consultation-meeting-deliberate-tablet")
    _advance(tablet, "协商")

    # 5 表决 — open the vote; the resident votes on her phone, two more through the service
    tablet.click("text=开始表决")
    motion = topic.motions.get()
    phone.goto("/consultation/")
    phone.click("text=去投票")
    shot(phone, "consultation-vote-phone")
    phone.click("button:has-text('赞成')")
    assert "投票成功" in phone.locator(".messages").inner_text()
    for voter in (ruth, sam):
        services.vote_cast(actor=voter, motion=motion, choice=motion.choices.get(kind="for"))
    tablet.reload()
    # a function, not an expression string: the CSP forbids evaluating strings (no unsafe-eval)
    tablet.wait_for_function(
        "() => document.querySelector('#live-count [data-role=voted]').textContent === '3'"
    )
    shot(tablet, "consultation-live-count-tablet")
    tablet.click("text=结束表决并计票")
    assert "通过" in tablet.locator("[data-testid=motion-result]").inner_text()
    tablet.fill("textarea[name=minutes]", "到会 3 人，一致同意在院坝东侧加装 10 个充电桩。")
    tablet.click("text=保存纪要并结束会议")
    _advance(tablet, "表决")

    # 6 决议公示
    tablet.goto(detail)
    tablet.fill("textarea[name=text]", "在洪川一号院院坝东侧加装 10 个电动车充电桩，由物业负责日常管理。")
    tablet.fill("input[name=renewal_name]", "洪川一号院充电桩微更新")
    tablet.click("text=保存决议")
    tablet.fill("textarea[name=content]", "决议：在院坝东侧加装 10 个充电桩。公示期内如有异议请提出。")
    tablet.click("button:has-text('发布公示')")
    assert "当前步骤：6. 决议公示" in tablet.locator("[data-testid=current-step]").inner_text()
    shot(tablet, "consultation-resolution-notice-tablet")

    # the resident sees the notice and can object
    phone.goto("/consultation/")
    notice = phone.locator("[data-testid=notice]").first
    assert "决议公示" in notice.inner_text()
    notice.locator("a").click()
    phone.fill("textarea[name=text]", "希望充电桩离一单元窗户远一些")
    phone.click("text=提交异议")
    assert "异议已提交" in phone.locator(".messages").inner_text()
    assert "希望充电桩离一单元窗户远一些" in phone.locator("[data-testid=objection]").inner_text()
    shot(phone, "consultation-resolution-notice-phone")
