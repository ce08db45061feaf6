"""Every uploaded file is served through a permission-checked view with a random name;
MEDIA_ROOT is never served directly (issue #12 §4, design §12)."""

from __future__ import annotations

import re

import pytest

from points import services as points_services
from points.models import Rule
from projects import services as project_services

from .conftest import photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(rita_account):
    rule = Rule.objects.filter(list_kind="positive").first()
    return points_services.claim_submit(
        actor=rita_account.user, account=rita_account, rule=rule, note="清理楼道", evidence=photo()
    )


@pytest.fixture
def renewal_photo(carol, community_a):
    project = project_services.renewal_create(
        actor=carol, community=community_a, name="口袋公园", kind="micro_renewal"
    )
    return project_services.renewal_add_photo(actor=carol, project=project, upload=photo("site.png"))


def test_uploads_get_random_names(claim, renewal_photo):
    for name in (claim.evidence.name, renewal_photo.image.name, renewal_photo.thumbnail.name):
        assert re.search(r"/[0-9a-f]{32}\.(jpg|png)$", name), name


def test_media_root_is_not_served(client, claim, rita):
    client.force_login(rita)
    assert client.get(f"/media/{claim.evidence.name}").status_code == 404


def test_claim_evidence_is_for_the_claimant_and_the_communitys_staff_only(
    client, claim, rita, carol, dave, bob
):
    url = f"/points/claims/{claim.pk}/evidence/"
    for who, expected in ((rita, 200), (carol, 200), (dave, 404), (bob, 404)):
        client.force_login(who)
        answer = client.get(url)
        assert answer.status_code == expected, who
        if expected == 200:
            assert answer["Content-Type"].startswith("image/")
            assert answer["Cache-Control"] == "private, max-age=3600"
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_renewal_photos_are_for_those_who_may_read_the_project(client, renewal_photo, carol, dave, rita):
    url = f"/registry/renewal/photos/{renewal_photo.pk}/"
    client.force_login(carol)
    assert client.get(url).status_code == 200
    assert client.get(url + "thumb/").status_code == 200
    for outsider in (dave, rita):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
