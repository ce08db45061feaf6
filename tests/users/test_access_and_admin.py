"""One place for every permission rule, and an audited admin (issue #12 §3)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from qionglai.core.models import AuditEvent, Notification
from qionglai.users import access
from qionglai.users.models import Grant, Role
from qionglai.users.services import grant_give, grant_retire
from tests.factories import GrantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_holders_are_the_users_whose_grants_cover_the_place(
    alice, bob, carol, dave, tina, victor, root, compound_a
):
    staff_of_compound = set(access.holders("grids.incident_view", compound_a.path))
    assert staff_of_compound == {alice, carol, tina, victor}  # not bob/dave (community B), not root
    assert root in access.holders("grids.incident_view", compound_a.path, include_admins=True)


def test_holders_respect_unit_and_retired_grants(hank, community_a):
    assert list(access.holders("grids.handle_department", community_a.path, unit="zjj")) == [hank]
    assert list(access.holders("grids.handle_department", community_a.path, unit="cgj")) == []
    Grant.objects.filter(user=hank).update(retired_at="2026-01-01T00:00:00Z")
    assert list(access.holders("grids.handle_department", community_a.path, unit="zjj")) == []


def test_holders_is_one_query(carol, tina, compound_a, django_assert_num_queries):
    with django_assert_num_queries(1):  # grants and users in one statement (a subquery)
        list(access.holders("grids.incident_view", compound_a.path))


def test_active_user_loads_the_person_with_their_grants_in_one_query(rita, hank, django_assert_num_queries):
    with django_assert_num_queries(1):  # the grants with their user joined
        user = access.active_user(rita.pk)
    with django_assert_num_queries(0):  # asked about their roles: nothing more to read
        assert access.has_role(user, Role.RESIDENT)
        grants = access.active_grants(user)
    assert grants == list(Grant.objects.filter(user=rita).order_by("id"))
    assert all(g.user is user for g in grants)
    assert user == rita
    no_grants = UserFactory()
    with django_assert_num_queries(2):  # no grant: the user read on their own
        assert access.active_user(no_grants.pk) == no_grants
    Grant.objects.filter(user=hank).update(retired_at="2026-01-01T00:00:00Z")
    assert access.active_user(hank.pk) == hank and access.active_grants(access.active_user(hank.pk)) == []
    type(hank).objects.filter(pk=hank.pk).update(is_active=False)
    assert access.active_user(hank.pk) is None
    assert access.active_user(rita.pk + 10_000) is None


def test_holding_is_the_role_as_a_condition_on_users(rita, hank, alice):
    users = type(rita).objects.filter(pk__in=[rita.pk, hank.pk, alice.pk])
    assert set(users.filter(access.holding(Role.RESIDENT))) == {rita}
    Grant.objects.filter(user=rita).update(retired_at="2026-01-01T00:00:00Z")
    assert set(users.filter(access.holding(Role.RESIDENT))) == set()


def test_the_unit_and_owner_predicates(mike, hank, rita, root):
    assert access.acts_for(mike, Role.MERCHANT, "m1") and not access.acts_for(mike, Role.MERCHANT, "m2")
    assert access.acts_for(hank, Role.DEPARTMENT_HANDLER, "zjj") and not access.acts_for(
        rita, Role.MERCHANT, "m1"
    )
    assert access.acts_for(root, Role.MERCHANT, "m9")
    assert access.owns(rita, rita.pk) and not access.owns(rita, mike.pk) and not access.owns(rita, None)


def test_a_grant_is_given_through_the_service_audited_and_opens_its_points_account(root, community_a):
    from points.models import Account, HolderClass

    person = UserFactory(username="newbie", real_name="新党员")
    grant = grant_give(actor=root, user=person, role=Role.PARTY_MEMBER, path=community_a.path)
    assert access.can(person, "grids.report", community_a.path)
    assert Account.objects.filter(user=person, holder_class=HolderClass.PARTY_MEMBER).exists()
    event = AuditEvent.objects.get(action="grant.give")
    assert event.actor == root and event.data["grant"] == grant.pk
    assert grant_give(actor=root, user=person, role=Role.PARTY_MEMBER, path=community_a.path) == grant
    assert AuditEvent.objects.filter(action="grant.give").count() == 1  # given twice, once


def test_only_an_admin_gives_or_retires_grants(carol, rita, community_a):
    with pytest.raises(PermissionDenied):
        grant_give(actor=carol, user=rita, role=Role.COMMUNITY_STAFF, path=community_a.path)
    with pytest.raises(PermissionDenied):
        grant_retire(actor=carol, grant=rita.grants.get())
    assert not rita.grants.filter(role=Role.COMMUNITY_STAFF).exists()


def test_retiring_a_grant_is_audited_and_takes_the_authority_away(root, carol, community_a):
    grant = carol.grants.get()
    grant_retire(actor=root, grant=grant)
    grant_retire(actor=root, grant=grant)  # twice: harmless
    access.forget_grants(carol)
    assert not access.can(carol, "grids.incident_view", community_a.path)
    assert AuditEvent.objects.filter(action="grant.retire").count() == 1


def test_a_grant_added_in_the_admin_goes_through_the_service(client, root, rita, community_a):
    client.force_login(root)
    answer = client.post(
        "/admin/users/grant/add/",
        {"user": rita.pk, "role": "party_member", "path": community_a.path, "post": "", "unit": ""},
    )
    assert answer.status_code == 302
    assert AuditEvent.objects.filter(action="grant.give", target_id=str(rita.pk)).exists()
    assert AuditEvent.objects.filter(action="admin.add", target_type="users.grant").exists()


def test_grants_cannot_be_deleted_in_the_admin(client, root, carol):
    client.force_login(root)
    grant = carol.grants.get()
    client.post(f"/admin/users/grant/{grant.pk}/delete/", {"post": "yes"})
    assert Grant.objects.filter(pk=grant.pk).exists()


def test_every_admin_delete_is_audited_with_who_and_what(client, root, carol):
    note = Notification.objects.create(user=carol, key="k", title="测试通知")
    client.force_login(root)
    assert client.post(f"/admin/core/notification/{note.pk}/delete/", {"post": "yes"}).status_code == 302
    event = AuditEvent.objects.get(action="admin.delete")
    assert (
        event.actor == root and event.target_type == "core.notification" and event.target_id == str(note.pk)
    )


def test_the_admin_is_decided_by_access_not_by_djangos_staff_flag(client, community_a):
    flagged = UserFactory(username="flagged", is_staff=True)
    GrantFactory(user=flagged, role=Role.COMMUNITY_STAFF, path=community_a.path)
    client.force_login(flagged)
    assert client.get("/admin/").status_code in (302, 403)
    assert client.get("/admin/users/grant/").status_code in (302, 403)


def test_there_is_one_read_only_admin_class():
    import ast
    from pathlib import Path

    from django.conf import settings

    copies = []
    for path in Path(settings.BASE_DIR).glob("*/admin.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        copies += [
            f"{path.parent.name}.{n.name}"
            for n in tree.body
            if isinstance(n, ast.ClassDef) and n.name.startswith("ReadOnly")
        ]
    assert copies == []
