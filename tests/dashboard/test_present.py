"""present.py's one statement against the selectors' five ORM reads it replaced: the same open
incidents by state, overdue now, late incidents and the same two lists, in order, at every
scope level."""

from __future__ import annotations

from datetime import timedelta

import pytest

from grids.models import Category, GridKind, Status
from qionglai.dashboard import present, selectors
from tests.grids.conftest import make_grid

from .conftest import NOW, at, make_incident

OPEN = [Status.REPORTED, Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED, Status.VERIFIED]


@pytest.fixture
def open_incidents(community_a, community_b, category, time_machine):
    """More overdue incidents than the red list holds, ties in due_at and created_at (the id
    decides), a parent category and one without, an incident resolved but not yet verified
    with a passed resolve deadline (open, not late), and a path that continues community A's
    with a character below "." (inside the index's range, not under A)."""
    time_machine.move_to(NOW, tick=False)
    grid = make_grid(community_a, kind=GridKind.GENERAL, code="g01", name="第一网格")
    top = Category.objects.filter(parent__isnull=True).order_by("id").first()
    for n in range(40):
        where = grid.path if n % 3 == 0 else community_a.path
        make_incident(
            community_b if n % 4 == 3 else community_a, top if n % 7 == 0 else category,
            path=community_b.path if n % 4 == 3 else where,
            created_at=at(1 + n % 9, 8), status=OPEN[n % 5],
            due_at=at(3 + n % 4, 9) if n % 6 else None, due_stage="resolve",
            resolve_due=at(2 + n % 11, 9), extension_count=n % 2,
            resolved_at=at(10, 9) if OPEN[n % 5] in (Status.RESOLVED, Status.VERIFIED) else None,
        )  # fmt: skip
    make_incident(community_a, category, path=community_a.path + "-x", created_at=at(2, 8), due_at=at(3, 8))
    make_incident(community_a, category, created_at=at(2, 8), status=Status.CLOSED, due_at=at(3, 8))
    return grid


def _rows(listed):
    shown = ("pk", "status", "urgency", "created_at", "due_at", "due_stage")
    return [
        (
            str(i.category),
            i.community.name,
            i.get_status_display(),
            i.get_urgency_display(),
            *(getattr(i, f) for f in shown),
        )
        for i in listed
    ]


@pytest.mark.django_db
def test_the_one_statement_equals_the_five_reads_at_every_level(open_incidents, community_a):
    town = community_a.town
    for path in ("510183", town.path, community_a.path, open_incidents.path):
        scope = selectors.scope_at(path)
        found = present.present(scope.level, scope.path, NOW)
        by_state, overdue = selectors.open_now(scope, NOW)
        assert found.by_state == by_state and found.overdue == overdue, path
        assert sorted(found.late) == sorted(selectors.late_rows(scope, NOW)), path
        assert _rows(found.overdue_list) == _rows(selectors.overdue_list(scope, now=NOW)), path
        assert _rows(found.oldest) == _rows(selectors.oldest_open(scope)), path
    community = present.present("community", community_a.path, NOW)
    # what the comparison stands on: a full red list, late incidents, both kinds of category
    assert len(community.overdue_list) == present.OVERDUE_LIMIT and community.late
    assert {" / " in i.category for i in community.oldest + community.overdue_list} == {True, False}
    assert community_a.path + "-x" not in {p for _c, p, _e in community.late}


@pytest.mark.django_db
def test_without_the_statement_the_reads_answer_the_same(open_incidents, community_a, monkeypatch):
    scope = selectors.scope_at(community_a.path)
    found = selectors.present_of(scope, NOW)
    monkeypatch.setattr(present, "present", lambda *_args: None)  # as on SQLite
    read = selectors.present_of(scope, NOW + timedelta(0))
    assert (read.by_state, read.overdue, sorted(read.late)) == (
        found.by_state,
        found.overdue,
        sorted(found.late),
    )
    assert _rows(read.overdue_list) == _rows(found.overdue_list) and _rows(read.oldest) == _rows(found.oldest)


@pytest.mark.django_db
def test_category_names_come_from_the_cache_and_a_new_category_at_once(category, django_assert_num_queries):
    with django_assert_num_queries(1):
        names = selectors.category_names()
    assert names[category.pk] == (category.name, category.parent.name)
    with django_assert_num_queries(0):  # cached
        assert selectors.category_names([category.pk]) == names
    new = Category.objects.create(code="9901", name="新类别", parent=category.parent)
    with django_assert_num_queries(1):  # not in the cache: read again
        assert selectors.category_names([new.pk])[new.pk] == ("新类别", category.parent.name)
