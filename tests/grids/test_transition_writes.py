"""What a transition writes: only the columns it changed, and (inside `remembered()`, the demo
build) a lock that reads the incident's own row while its references are read once."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from grids import services
from grids.models import Incident, Status, Tier
from grids.services import _common

pytestmark = pytest.mark.django_db


def _reads(ctx) -> list[str]:
    """The statements that read rows (PostgreSQL's SET LOCAL lock_timeout left out)."""
    return [q["sql"] for q in ctx.captured_queries if "set_config" not in q["sql"]]


def _update_columns(queries) -> list[set[str]]:
    """The columns each `UPDATE "grids_incident"` statement set."""
    out = []
    for q in queries:
        sql = q["sql"]
        if sql.startswith('UPDATE "grids_incident" SET'):
            assignments = sql.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
            out.append(set(re.findall(r'"(\w+)" = ', assignments)))
    return out


def test_it_updates_only_the_columns_a_transition_changed(report, alice):
    inc = report()
    with CaptureQueriesContext(connection) as ctx:
        inc = services.incident_accept(actor=alice, incident=inc, tier=Tier.GRID)
    # 网格自办: the status, the tier, the acceptance and its on-time flag, the assignee, the
    # resolve timer armed (due_at, due_stage, resolve_due), and updated_at — nothing else
    (columns,) = _update_columns(ctx.captured_queries)
    assert {
        "status",
        "tier",
        "accepted_at",
        "accepted_on_time",
        "due_at",
        "due_stage",
        "updated_at",
    } <= columns
    assert not columns & {
        "description",
        "reporter_id",
        "category_id",
        "community_id",
        "path",
        "token",
        "created_at",
    }
    stored = Incident.objects.get(pk=inc.pk)
    for field in Incident._meta.concrete_fields:  # the row holds what the service returned
        assert getattr(stored, field.attname) == getattr(inc, field.attname), field.attname


@pytest.fixture
def in_progress_dept(report, carol, zjj_category):
    inc = services.incident_accept(actor=carol, incident=report(category=zjj_category), tier=Tier.DEPARTMENT)
    return services.incident_dispatch(actor=carol, incident=inc)


def test_a_reopen_writes_both_steps_of_its_transition(in_progress_dept, hank, carol, alice):
    """不满意 records the evaluation (a step that does not save) and then the reopen: the one
    UPDATE carries the columns of both."""
    inc = services.incident_resolve(actor=hank, incident=in_progress_dept, result="修好了")
    inc = services.incident_verify(actor=carol, incident=inc)
    with CaptureQueriesContext(connection) as ctx:
        inc = services.incident_evaluate(
            actor=alice, incident=inc, satisfaction="dissatisfied", comment="没修好"
        )
    (columns,) = _update_columns(ctx.captured_queries)
    assert {"status", "evaluation_comment", "reopen_count", "due_at", "due_stage"} <= columns
    stored = Incident.objects.get(pk=inc.pk)
    assert (stored.status, stored.reopen_count, stored.satisfaction) == (Status.IN_PROGRESS, 1, "")
    for field in Incident._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(inc, field.attname), field.attname


def test_inside_remembered_a_lock_reads_the_row_alone_and_each_reference_once(report, alice):
    first, second = report(), report()
    with services.remembered():
        with CaptureQueriesContext(connection) as ctx:
            a = _common.lock(first.pk)
        # the row, then its category and community once each (no department yet)
        assert len(_reads(ctx)) == 3
        assert "JOIN" not in _reads(ctx)[0]
        with CaptureQueriesContext(connection) as ctx:
            b = _common.lock(second.pk)
        assert len(_reads(ctx)) == 1  # the references are remembered
        assert b.category is a.category and b.community is a.community
        assert (b.category.pk, b.community.pk) == (second.category_id, second.community_id)
    assert _common._references is None  # forgotten after the block
    with CaptureQueriesContext(connection) as ctx:
        c = _common.lock(first.pk)
        assert c.category.pk == first.category_id and c.community.pk == first.community_id
    assert len(_reads(ctx)) == 1  # outside: one statement joining them, as before
    assert "JOIN" in _reads(ctx)[0]


def test_a_verify_tells_the_followers_and_reads_them_only_when_there_are_some(
    in_progress_dept, report, hank, carol, rita, zjj_category
):
    from qionglai.core.models import OwedNotice

    services.incident_me_too(actor=rita, incident=in_progress_dept)
    inc = services.incident_resolve(actor=hank, incident=in_progress_dept, result="修好了")
    with CaptureQueriesContext(connection) as ctx:
        inc = services.incident_verify(actor=carol, incident=inc)
    assert any('FROM "grids_incidentfollower"' in q["sql"] for q in ctx.captured_queries)
    told = set(
        OwedNotice.objects.filter(key__startswith=f"incident:{inc.pk}:verified:").values_list(
            "user_id", flat=True
        )
    )
    assert told == {inc.reporter_id, rita.pk}

    alone = services.incident_accept(
        actor=carol, incident=report(category=zjj_category), tier=Tier.DEPARTMENT
    )
    alone = services.incident_dispatch(actor=carol, incident=alone)
    alone = services.incident_resolve(actor=hank, incident=alone, result="修好了")
    with CaptureQueriesContext(connection) as ctx:
        alone = services.incident_verify(actor=carol, incident=alone)
    assert not any('FROM "grids_incidentfollower"' in q["sql"] for q in ctx.captured_queries)
    told = set(
        OwedNotice.objects.filter(key__startswith=f"incident:{alone.pk}:verified:").values_list(
            "user_id", flat=True
        )
    )
    assert told == {alone.reporter_id}


def test_inside_remembered_the_party_members_among_the_handlers_are_the_same(
    in_progress_dept, hank, carol, community_a
):
    from grids.services.incidents import _party_member_ids
    from qionglai.users.models import Role

    from ..factories import GrantFactory

    GrantFactory(user=hank, role=Role.PARTY_MEMBER, path=community_a.path)
    inc = services.incident_resolve(actor=hank, incident=in_progress_dept, result="修好了")
    outside = _party_member_ids(inc)
    assert outside == [hank.pk]
    with services.remembered():
        with CaptureQueriesContext(connection) as ctx:
            assert _party_member_ids(inc) == outside
            assert _party_member_ids(inc) == outside  # compiled once, run twice
        assert len(ctx.captured_queries) == 2
        assert ctx.captured_queries[0]["sql"] == ctx.captured_queries[1]["sql"]
    assert _common.compiled("party_member_handlers", lambda pk: None, inc.pk) is None  # outside
