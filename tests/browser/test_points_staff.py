"""Community staff record a claim on behalf of a resident (代录), review it, and read the
ranking; the resident sees the 代录 entry and the publicity list on a phone."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from points import services
from points.models import Claim, HolderClass, Rule

from ..points.conftest import ensure_default_rules
from .conftest import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_rules(transactional_db):
    ensure_default_rules()  # an earlier transactional test may have flushed the seeded lists


def test_staff_record_on_behalf_review_and_rank(new_page, carol, rita, community_a):
    services.account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path)
    staff = new_page()
    login(staff, "carol")
    staff.goto("/points/staff/")
    staff.fill("input[name=rec-person]", "rita")
    staff.select_option("select[name=rec-rule]", str(Rule.objects.get(code="P12").pk))
    staff.fill("input[name=rec-quantity]", "2")
    staff.fill("input[name=rec-note]", "汛期防汛巡查两天")
    staff.click("button[name=record]")
    assert "代录申报" in staff.locator(".messages").inner_text()
    assert "代录：社区工作者 卡萝" in staff.get_by_test_id("pending").inner_text()
    shot(staff, "points-staff-review-desktop")
    staff.get_by_test_id("pending").locator("button[value=approve]").click()
    assert "已通过" in staff.locator(".messages").inner_text()

    claim = Claim.objects.get()
    with time_machine.travel(timezone.now() + timedelta(days=4), tick=True):
        services.claims_close_due()
    staff.goto(
        f"/points/staff/ranking/?holder_class=resident&path={community_a.path}&year={claim.created_at.year}"
    )
    assert "居民 丽塔" in staff.get_by_test_id("ranking").inner_text()
    shot(staff, "points-staff-ranking-desktop")

    resident = new_page(phone=True)
    login(resident, "rita")
    resident.goto("/points/")
    assert "代录" in resident.get_by_test_id("history").inner_text()
    shot(resident, "points-resident-history-on-behalf-phone")
    resident.goto("/points/donate/")
    shot(resident, "points-donate-phone")
