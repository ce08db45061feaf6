"""Points accounts are opened by grant_give (the grant_given receiver) or by the holder on a
POST, never as a side effect of a GET (issue #12 §3): a resident whose grant was made without
grant_give sees an empty state and a button, and no page they GET writes an account row."""

import pytest

from points.models import Account
from qionglai.users.models import Role
from qionglai.users.services import grant_give

pytestmark = pytest.mark.django_db

HOLDER_PAGES = ["/points/", "/points/offers/", "/points/claims/new/", "/points/donate/", "/points/publicity/"]


def test_it_writes_no_account_row_on_any_get(client, rita):
    client.force_login(rita)
    for url in HOLDER_PAGES:
        response = client.get(url)
        assert response.status_code in (200, 302, 403), (url, response.status_code)
    assert not Account.objects.filter(user=rita).exists()


def test_it_shows_an_empty_state_with_a_button_to_open_the_account(client, rita):
    client.force_login(rita)
    response = client.get("/points/")
    assert response.status_code == 200
    assert "您还没有积分账户" in response.content.decode()
    assert 'action="/points/open/"' in response.content.decode()


def test_the_holder_opens_their_accounts_with_a_post_once(client, rita):
    client.force_login(rita)
    assert client.get("/points/open/").status_code == 302
    assert not Account.objects.filter(user=rita).exists()  # a GET of the button's URL opens nothing
    client.post("/points/open/")
    client.post("/points/open/")
    assert Account.objects.filter(user=rita, holder_class="resident").count() == 1
    assert "您还没有积分账户" not in client.get("/points/").content.decode()


def test_grant_give_opens_the_account_it_implies(root, community_a):
    from tests.factories import UserFactory

    ruby = UserFactory(username="ruby", real_name="居民 露比")
    grant_give(actor=root, user=ruby, role=Role.RESIDENT, path=community_a.path)
    assert Account.objects.filter(user=ruby, holder_class="resident").count() == 1
