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


def test_it_lets_staff_advance_a_renewal_project_and_read_the_fund_ledger(new_page, carol, community_a):
    from projects import services

    project = services.renewal_create(
        actor=carol, community=community_a, name="洪川社区口袋公园", kind="micro_renewal"
    )
    services.fund_inflow(
        actor=carol,
        fund=community_a.fund,
        kind="donation",
        amount="2000",
        idempotency_key="b1",
        note="企业捐赠",
    )
    page = new_page()
    login(page, "carol")
    page.goto(f"/registry/renewal/{project.pk}/")
    assert page.get_by_test_id("renewal-status").inner_text() == "规划"
    page.fill("input[name=note]", "区里已批复")
    page.click("button[name=advance]")
    assert page.get_by_test_id("renewal-status").inner_text() == "立项"
    assert "项目已推进到「立项」" in page.locator(".messages").inner_text()
    shot(page, "renewal-detail-desktop")
    page.goto(f"/registry/funds/{community_a.fund.pk}/")
    assert page.get_by_test_id("fund-balance").inner_text() == "2000.00"
    page.fill("input[name=amount]", "-5")
    page.click("button[name=inflow]")
    assert page.locator(".has-error .error").first.inner_text()  # a form error, not a crash
    assert page.get_by_test_id("fund-balance").inner_text() == "2000.00"
    shot(page, "fund-detail-desktop")
