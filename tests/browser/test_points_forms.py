"""A resident's forms on a phone: refused input comes back from the server in Chinese beside
the field (no browser bubbles), long text shows a live character count instead of being cut,
and the history reads as sentences with the balance after each line."""

from __future__ import annotations

import pytest
from django.db import transaction

from points import services
from points.models import HolderClass, TxKind
from points.services import Leg

from .conftest import login, shot, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def account(rita, community_a):
    account = services.account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path)
    with transaction.atomic():
        services.post(
            kind=TxKind.EARN,
            key="browser-forms",
            legs=[Leg(services.issuance_for(community_a.path), -60), Leg(account, 60, 60)],
            path=community_a.path,
            memo="参加志愿服务：清理河道垃圾",
        )
    return account


def test_an_empty_claim_is_answered_in_chinese_and_long_text_is_counted(new_page, account):
    page = new_page(phone=True)
    login(page, "rita")
    page.goto("/points/claims/new/")
    options = page.locator("select[name=rule] option").all_inner_texts()
    assert not any("双报到" in o or "主题党日" in o for o in options)
    submit(page, "text=提交申报")
    errors = " ".join(page.locator(".field.has-error .error").all_inner_texts())
    assert "请写明事由：做了什么、何时何地" in errors and "该字段是必填项" in errors
    note = page.locator("textarea[name=note]")
    assert note.get_attribute("maxlength") is None  # not cut: counted
    note.fill("帮")
    counter = page.get_by_test_id("char-count")
    assert counter.inner_text() == "1 / 300"
    note.fill("帮" * 305)
    assert "超出 5 字" in counter.inner_text()
    shot(page, "points-claim-errors-phone")


def test_the_history_reads_as_sentences_on_a_phone(new_page, account):
    page = new_page(phone=True)
    login(page, "rita")
    page.goto("/points/")
    history = page.get_by_test_id("history").inner_text()
    assert "参加志愿服务：清理河道垃圾" in history and "余额 60" in history
    shot(page, "points-history-phone")
