"""邻聚小圆桌 as a real meeting runs it, in a browser at tablet and phone sizes: the schedule
form keeps what was typed when an invitee is refused, the 审议 form offers the category tree
in Chinese, the board shows all nine steps, and at the vote the tablet shows a QR code, casts
a 代投 for a member without a phone and records a show of hands."""

from __future__ import annotations

import pytest
from django.conf import settings

from consultation import permissions, services
from consultation.models import MotionMethod, ProcedureTemplate, TemplateStep, Topic
from consultation.reference import seed_default_template
from qionglai.users.models import Role
from tests.factories import GrantFactory, UserFactory

from .conftest import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 1024, "height": 1366}


def _person(username, name, path, role=Role.RESIDENT):
    user = UserFactory(username=username, real_name=name)
    GrantFactory(user=user, role=role, path=path)
    return user


@pytest.fixture
def people(community_a, rita):
    seed_default_template(ProcedureTemplate, TemplateStep, settings.CITY_PATH)
    return {
        "rita": rita,
        "ruth": _person("ruth", "居民 露丝", community_a.path),
        "tom": _person("tom", "党员 汤姆", community_a.path, Role.PARTY_MEMBER),
        "gina": _person("gina", "网格长 吉娜", f"{community_a.path}.g01", Role.GRID_WORKER),
    }


def _tablet(new_page, username="carol"):
    page = new_page()
    page.set_viewport_size(TABLET)
    login(page, username)
    return page


def test_a_refused_invitee_keeps_the_form_and_the_review_speaks_chinese(
    new_page, carol, people, community_a, monkeypatch
):
    from grids.models import Category

    disputes, _ = Category.objects.get_or_create(code="01", defaults={"name": "矛盾纠纷"})
    Category.objects.get_or_create(code="0101", defaults={"name": "邻里纠纷", "parent": disputes})
    topic = services.topic_propose(
        actor=people["rita"], title="院坝加装充电桩", description="楼道飞线充电有隐患", community=community_a
    )
    services.topic_advance(actor=carol, topic=topic, step_code="propose")
    tablet = _tablet(new_page)

    # 2 审议: the merge list and the category tree, both in Chinese
    tablet.goto(f"/consultation/topics/{topic.pk}/")
    merge = tablet.locator("select[name=merge_into]")
    assert merge.locator("option").first.inner_text() == "请选择要并入的议题"
    category = tablet.locator("select[name=incident_category]")
    assert category.locator("optgroup[label='矛盾纠纷'] option", has_text="邻里纠纷").count() == 1
    shot(tablet, "consultation-review-tablet")
    tablet.check("input[name=decision][value=accept]")
    tablet.click("text=保存审议结论")
    assert "当前步骤：3. 公示议题" in tablet.locator("[data-testid=current-step]").inner_text()

    # 3: the invite list is the voting members, labelled by role; one is refused at submit
    invite = tablet.locator("[data-testid=invite-list]")
    text = invite.inner_text()
    assert (
        "党员 汤姆（党员）" in text
        and "网格长 吉娜（网格员）" in text
        and "社区工作者 卡萝（社区工作者）" in text
    )
    real = permissions.may_vote
    ruth = people["ruth"]
    monkeypatch.setattr(permissions, "may_vote", lambda u, c: u != ruth and real(u, c))
    form = tablet.locator("[data-testid=meeting-form]")
    form.locator("input[name=location]").fill("院坝东侧")
    form.locator("textarea[name=agenda]").fill("一、介绍方案\n二、讨论")
    form.locator("textarea[name=guests]").fill("王经理,物业企业")
    for user in (people["rita"], ruth, people["gina"]):
        tablet.check(f"input[name=members][value='{user.pk}']")
    tablet.click("text=安排会议并通知")
    assert "会议未安排" in tablet.locator(".messages").inner_text()
    error = tablet.locator(".member.has-error")
    assert error.is_visible()
    assert "居民 露丝" in error.inner_text() and "只能作为列席人员" in error.inner_text()
    assert tablet.locator("input[name=location]").input_value() == "院坝东侧"
    assert tablet.locator("textarea[name=agenda]").input_value() == "一、介绍方案\n二、讨论"
    assert tablet.locator("textarea[name=guests]").input_value() == "王经理,物业企业"
    assert tablet.locator(f"input[name=members][value='{people['gina'].pk}']").is_checked()
    tablet.screenshot(
        path=str(
            shot(tablet, "consultation-invitee-refused-tablet").with_name(
                "consultation-invitee-refused-viewport-tablet.png"
            )
        )
    )
    assert not Topic.objects.get(pk=topic.pk).meetings.exists()
    monkeypatch.undo()

    tablet.uncheck(f"input[name=members][value='{ruth.pk}']")
    tablet.click("text=安排会议并通知")
    assert "会议已安排" in tablet.locator(".messages").inner_text()
    meeting = Topic.objects.get(pk=topic.pk).meetings.get()
    assert meeting.location == "院坝东侧" and meeting.invitees.count() == 3


def test_the_board_shows_all_nine_steps_on_a_desktop_and_says_it_scrolls_on_a_tablet(
    new_page, carol, people, community_a
):
    services.topic_propose(
        actor=people["rita"], title="院坝加装充电桩", description="隐患", community=community_a
    )
    desktop = new_page()
    login(desktop, "carol")
    desktop.goto("/consultation/")
    last = desktop.locator("#col-evaluate")
    box, width = last.bounding_box(), desktop.viewport_size["width"]
    assert box["x"] + box["width"] <= width, (box, width)
    assert not desktop.locator("[data-testid=board-hint]").is_visible()
    shot(desktop, "consultation-board-desktop")
    tablet = _tablet(new_page)
    tablet.goto("/consultation/")
    assert tablet.locator("[data-testid=board-hint]").is_visible()
    tablet.click("a[href='#col-evaluate']")
    tablet.wait_for_function(
        "(() => { const r = document.querySelector('#col-evaluate').getBoundingClientRect();"
        " return r.left >= 0 && r.right <= window.innerWidth + 1; })()"
    )
    shot(tablet, "consultation-board-tablet-scrolled")

    # the 网格长, whose grant is a grid inside the community, sees its topics on the phone
    phone = new_page(phone=True)
    login(phone, "gina")
    phone.goto("/consultation/")
    assert "院坝加装充电桩" in phone.locator("main, body").first.inner_text()
    shot(phone, "consultation-grid-lead-home-phone")


def _to_vote(carol, people, community_a):
    from datetime import timedelta

    from django.utils import timezone

    from consultation.models import InviteeCategory
    from tests.consultation.conftest import expire_publicity

    topic = services.topic_propose(
        actor=people["rita"], title="院坝加装充电桩", description="隐患", community=community_a
    )
    topic = services.topic_advance(actor=carol, topic=topic, step_code="propose")
    topic = services.topic_review(actor=carol, topic=topic, decision="accept")
    services.publicity_open(actor=carol, topic=topic, content="拟讨论加装充电桩")
    meeting = services.meeting_schedule(
        actor=carol,
        topic=topic,
        title="充电桩小圆桌",
        scheduled_at=timezone.now() + timedelta(days=6),
        invitees=[
            *({"user": u, "category": InviteeCategory.RESIDENT_REP} for u in people.values()),
            {"name": "王经理", "category": InviteeCategory.PROPERTY},
        ],
    )
    expire_publicity(topic)
    topic = services.topic_advance(actor=carol, topic=Topic.objects.get(pk=topic.pk), step_code="notice")
    services.meeting_open(actor=carol, meeting=meeting)
    for invitee in meeting.invitees.all():
        services.meeting_sign_in(actor=carol, invitee=invitee)
    services.option_table(actor=carol, meeting=meeting, text="院坝东侧加装 10 个充电桩")
    services.topic_advance(actor=carol, topic=Topic.objects.get(pk=topic.pk), step_code="deliberate")
    return meeting


def test_at_the_vote_the_tablet_shows_a_qr_code_casts_a_proxy_and_records_a_show_of_hands(
    new_page, carol, people, community_a
):
    meeting = _to_vote(carol, people, community_a)
    tablet = _tablet(new_page)
    tablet.goto(f"/consultation/meetings/{meeting.pk}/")
    # 应到 4 voting members; 王经理 (列席) is present but counts in neither
    assert tablet.locator("[data-testid=invited-count]").inner_text() == "4"
    assert tablet.locator("[data-testid=present-count]").inner_text() == "4"
    assert "不含列席人员" in tablet.locator("[data-testid=quorum-rule]").inner_text()
    tablet.click("text=开始表决")
    link = tablet.locator("[data-testid=vote-link]")
    assert link.locator("img").evaluate("i => i.complete && i.naturalWidth > 0")
    short = link.locator(".short").inner_text()
    assert short.endswith(f"/consultation/v/{meeting.motions.get().pk}/")

    # ruth has no phone: the host casts her ballot as she says
    tablet.click("text=代投（到会但没有手机的成员")
    proxy = tablet.locator("[data-testid=proxy]")
    proxy.locator("select[name=invitee]").select_option(label="居民 露丝")
    proxy.locator("select[name=choice]").select_option(label="赞成")
    proxy.locator("button:has-text('代投')").click()
    assert "已为 居民 露丝 代投" in tablet.locator(".messages").inner_text()
    ruth_card = tablet.locator("[data-testid=invitee]", has_text="居民 露丝")
    assert ruth_card.locator("[data-testid=proxied]").inner_text() == "代投"
    shot(tablet, "consultation-vote-qr-and-proxy-tablet")

    # rita scans the code on her phone and votes
    phone = new_page(phone=True)
    login(phone, "rita")
    phone.goto(short)
    phone.click("button:has-text('赞成')")
    assert "投票成功" in phone.locator(".messages").inner_text()
    shot(phone, "consultation-vote-from-qr-phone")
    tablet.reload()
    tablet.click("text=结束表决并计票")
    result = tablet.locator("[data-testid=motion-result]").first.inner_text()
    assert "应到 4，实到 4，投票 2" in result

    # a second motion by show of hands: 3 for, 1 against
    tablet.fill("input[name=title]", "由物业负责日常管理")
    tablet.click("text=开始表决")
    tablet.click("text=改为举手表决")
    hands = tablet.locator("[data-testid=hands]")
    hands.locator("label", has_text="赞成").locator("input").fill("3")
    hands.locator("label", has_text="反对").locator("input").fill("1")
    shot(tablet, "consultation-show-of-hands-tablet")
    tablet.click("text=按举手人数计票并结束表决")
    assert "举手表决" in tablet.locator(".messages").inner_text()
    second = tablet.locator("[data-testid=motion-result]", has_text="由物业负责日常管理").inner_text()
    assert "（举手表决）" in second and "举手 4" in second and "通过" in second
    assert (
        "【举手表决】由物业负责日常管理：赞成 3 人，反对 1 人"
        in tablet.locator("textarea[name=minutes]").input_value()
    )
    assert meeting.motions.get(title="由物业负责日常管理").method == MotionMethod.HANDS
    shot(tablet, "consultation-show-of-hands-result-tablet")
