import pytest

from .conftest import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_logs_a_community_worker_in_and_browses_town_community_compound(new_page, carol, compound_a):
    page = new_page(phone=True)
    page.goto("/")
    assert "/accounts/login/" in page.url
    shot(page, "login-phone")
    login(page, "carol")
    assert page.locator("h1").inner_text().startswith("您好")
    page.goto("/registry/")
    page.click("text=临邛街道")
    page.click("text=洪川社区")
    assert page.locator("h1").inner_text() == "洪川社区"
    page.click("text=洪川一号院")
    assert "洪川一号院" in page.locator("h1").inner_text()
    shot(page, "registry-compound-phone")


def test_it_shows_a_chinese_error_for_a_wrong_password(new_page, carol):
    page = new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "carol")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "账号或密码不正确" in page.locator(".form-errors").inner_text()
