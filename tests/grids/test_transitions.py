"""One transition table: the page offers exactly what the services accept, the resolver does not
verify her own work, a reporter's rating of her own work is 自评, and the writes cost a fixed
number of queries."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse

from grids import services, transitions
from grids.models import Satisfaction, Status, Tier
from grids.transitions import MSG_OWN_WORK
from qionglai.core.errors import ApplicationError

pytestmark = pytest.mark.django_db


class _Undo(Exception):
    pass


def _accepted_by_service(call) -> bool:
    """Runs a service call and rolls it back; True if the service did the move."""
    try:
        with transaction.atomic():
            call()
            raise _Undo
    except _Undo:
        return True
    except (PermissionDenied, ApplicationError):
        return False


ATTEMPTS = {
    "accept": lambda u, i: services.incident_accept(actor=u, incident=i, tier=Tier.GRID),
    "reject": lambda u, i: services.incident_reject(actor=u, incident=i, reason="不属实"),
    "dispatch": lambda u, i: services.incident_dispatch(actor=u, incident=i, tier=Tier.COMMUNITY),
    "resolve": lambda u, i: services.incident_resolve(actor=u, incident=i, result="已处理"),
    "verify": lambda u, i: services.incident_verify(actor=u, incident=i),
    "evaluate": lambda u, i: services.incident_evaluate(actor=u, incident=i, satisfaction="satisfied"),
}


def test_the_page_offers_exactly_the_moves_the_services_accept(report, alice, bob, carol, tina, rita, hank):
    cast = [alice, bob, carol, tina, rita, hank]
    reported = report(actor=rita)

    def accepted_one():
        return services.incident_accept(actor=carol, incident=report(actor=rita), tier=Tier.COMMUNITY)

    def in_progress_one():
        return services.incident_dispatch(actor=carol, incident=accepted_one(), tier=Tier.COMMUNITY)

    accepted, in_progress = accepted_one(), in_progress_one()
    resolved = services.incident_resolve(actor=carol, incident=in_progress_one(), result="已清理")
    verified = services.incident_verify(actor=alice, incident=resolved)
    resolved_2 = services.incident_resolve(actor=carol, incident=in_progress_one(), result="已清理")
    checked = 0
    for inc in (reported, accepted, in_progress, resolved_2, verified):
        for user in cast:
            user = type(user).objects.get(pk=user.pk)
            inc.refresh_from_db()
            for action, attempt in ATTEMPTS.items():
                offered = transitions.allowed(user, inc, action)
                assert offered == _accepted_by_service(lambda u=user, i=inc, a=attempt: a(u, i)), (
                    f"{user.username} {inc.status} {action}: page {offered}"
                )
                checked += 1
    assert checked == 5 * 6 * 6


def test_the_resolver_may_not_verify_her_own_work(report, alice, lead_a, carol, client):
    # 网格自办: alice accepts, which hands it to her, and resolves it
    inc = services.incident_accept(actor=alice, incident=report(), tier=Tier.GRID)
    inc = services.incident_resolve(actor=alice, incident=inc, result="已现场清运")
    assert inc.resolved_by == alice
    with pytest.raises(PermissionDenied, match=MSG_OWN_WORK):
        services.incident_verify(actor=alice, incident=inc)
    client.force_login(alice)
    page = client.get(reverse("grids:incident-detail", args=[inc.pk]))
    assert page.context["actions"]["verify"] is False
    # the 网格长 of the grid signs it off
    assert services.incident_verify(actor=lead_a, incident=inc).status == Status.VERIFIED


def test_a_failed_check_is_refused_to_the_resolver_too(report, carol, alice):
    inc = services.incident_accept(actor=carol, incident=report(), tier=Tier.COMMUNITY)
    inc = services.incident_dispatch(actor=carol, incident=inc, tier=Tier.COMMUNITY)
    inc = services.incident_resolve(actor=carol, incident=inc, result="已处理")
    with pytest.raises(PermissionDenied, match=MSG_OWN_WORK):
        services.incident_verify(actor=carol, incident=inc, passed=False, note="没弄好")
    inc = services.incident_verify(actor=alice, incident=inc, passed=False, note="垃圾还在")
    assert inc.status == Status.IN_PROGRESS


def test_a_reporter_rating_her_own_work_is_marked_self_evaluated(report, alice, carol, rita):
    own = services.incident_accept(actor=alice, incident=report(actor=alice), tier=Tier.GRID)
    own = services.incident_resolve(actor=alice, incident=own, result="已清运")
    own = services.incident_verify(actor=carol, incident=own)
    own = services.incident_evaluate(actor=alice, incident=own, satisfaction=Satisfaction.SATISFIED)
    assert own.status == Status.CLOSED and own.self_evaluated is True
    assert own.events.get(kind="evaluate").data["self_evaluated"] is True

    theirs = services.incident_accept(actor=alice, incident=report(actor=rita), tier=Tier.GRID)
    theirs = services.incident_resolve(actor=alice, incident=theirs, result="已清运")
    theirs = services.incident_verify(actor=carol, incident=theirs)
    theirs = services.incident_evaluate(actor=rita, incident=theirs, satisfaction=Satisfaction.SATISFIED)
    assert theirs.self_evaluated is False


def test_the_writes_cost_a_fixed_number_of_queries(report, carol, django_assert_num_queries):
    carol = type(carol).objects.get(pk=carol.pk)
    # a first pass loads what is cached per process or per user (grants, the calendar's
    # covered years), so the pinned counts below are the steady state of every request
    warm = services.incident_accept(actor=carol, incident=report(), tier=Tier.COMMUNITY)
    warm = services.incident_dispatch(actor=carol, incident=warm, tier=Tier.COMMUNITY)
    services.incident_resolve(actor=carol, incident=warm, result="已清理")
    inc = report()
    # savepoint, lock timeout, the row lock, the SLA policy and the calendar for the resolve
    # deadline, the UPDATE, the event, the audit row, the reporter's owed notice, release
    with django_assert_num_queries(10):
        inc = services.incident_accept(actor=carol, incident=inc, tier=Tier.COMMUNITY)
    # savepoint, lock timeout, lock, UPDATE, event, audit, the handlers to tell (staff grants),
    # their owed notice, release
    with django_assert_num_queries(9):
        inc = services.incident_dispatch(actor=carol, incident=inc, tier=Tier.COMMUNITY)
    # savepoint, lock timeout, lock, policy + calendar for the verify deadline, UPDATE, event,
    # audit, the handler row, who checks it (roster and staff grants, one query), release; no
    # notice is owed: the only checker in this cast is carol, who resolved it and is not asked
    # to check it
    with django_assert_num_queries(11):
        services.incident_resolve(actor=carol, incident=inc, result="已清理")
