"""What a screen shows about the present — open incidents by state, overdue now, the incidents
unresolved past their deadline (按期办结率's late ones), the 红灯 list and the oldest open — in
one statement over the scope's open incidents.

These were five reads (selectors.open_now, late_rows, overdue_list, oldest_open), each finding
the same open incidents again, and the two lists joined category, parent category and
community to every open incident before sorting (the planner expects a handful of rows; a
community has ~500): at a million incidents 4–9 ms each, about half of a community's computed
answer's wait for PostgreSQL, plus ~300 model instances. Here the open incidents are found
once; the lists are the first rows of it and join their names after LIMIT.

For a community or a grid (hundreds of open incidents) the CTE is MATERIALIZED: found once,
read four times. For the city and a town (tens of thousands) it is NOT MATERIALIZED: each part
is planned on its own, so the lists keep walking `incident_open_due` and stop at their limit.
Either way the parts are the same rules as the selectors' ORM reads, which answer on a database
other than PostgreSQL (the embedded default's SQLite: `~>=~`, casts) and which
tests/dashboard/test_present.py compares with this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connections, router

from grids.models import OPEN_STATES, Category, Incident, Status, Urgency
from projects.models import Community

OVERDUE_LIMIT, OLDEST_LIMIT = 20, 10


@dataclass(frozen=True)
class Named:
    name: str


@dataclass(frozen=True)
class Listed:
    """A listed incident: what report.incident_row and templates/dashboard/_incidents.html read
    (an Incident answers the same attributes, so exports of whole querysets share the row)."""

    pk: int
    category: str  # as str(Category): "parent / name"
    community: Named
    status: str
    urgency: str
    created_at: datetime
    due_at: datetime | None
    due_stage: str

    # what the page's template calls, as on an Incident
    def get_status_display(self) -> str:
        return str(Status(self.status).label)

    def get_urgency_display(self) -> str:
        return str(Urgency(self.urgency).label)


@dataclass
class Present:
    by_state: dict[str, int]
    overdue: int
    late: list[tuple] = field(default_factory=list)  # (created_at, path, extension_count)
    overdue_list: list[Listed] = field(default_factory=list)
    oldest: list[Listed] = field(default_factory=list)


# every part has the same columns: (part, id, status, urgency, created_at, due_at, due_stage,
# path, extension_count, n, n overdue, community name, category name)
_NAMES = f"""
SELECT %(part)s, x.id, x.status, x.urgency, x.created_at, x.due_at, x.due_stage, NULL, NULL, NULL, NULL,
  c.name, coalesce(p.name || ' / ' || k.name, k.name)
FROM ({{inner}}) x
JOIN {Community._meta.db_table} c ON c.id = x.community_id
JOIN {Category._meta.db_table} k ON k.id = x.category_id
LEFT JOIN {Category._meta.db_table} p ON p.id = k.parent_id
"""  # noqa: S608 - our own constants
SQL = f"""
WITH o AS {{materialized}} (
  SELECT i.id, i.status, i.urgency, i.created_at, i.due_at, i.due_stage, i.category_id, i.community_id,
    i.resolve_due, i.resolved_at, i.path, i.extension_count
  FROM {Incident._meta.db_table} i
  WHERE i.status = ANY(%(open)s) {{scope}}
)
SELECT 0, NULL::bigint, o.status, NULL::text, NULL::timestamptz, NULL::timestamptz, NULL::text, NULL::text,
  NULL::int, count(*), count(*) FILTER (WHERE o.due_at < %(now)s), NULL::text, NULL::text
FROM o GROUP BY o.status
UNION ALL
SELECT 1, NULL, NULL, NULL, o.created_at, NULL, NULL, o.path, o.extension_count, NULL, NULL, NULL, NULL
FROM o WHERE o.status = ANY(%(late)s) AND o.resolved_at IS NULL AND o.resolve_due < %(now)s
"""  # noqa: S608 - our own constants; every value is a parameter
_LISTED = "SELECT o.id, o.status, o.urgency, o.created_at, o.due_at, o.due_stage, o.category_id, o.community_id FROM o"
LISTS = (
    f"{_LISTED} WHERE o.due_at < %(now)s ORDER BY o.due_at, o.id LIMIT {OVERDUE_LIMIT}",  # 红灯
    f"{_LISTED} ORDER BY o.created_at, o.id LIMIT {OLDEST_LIMIT}",  # the oldest open
)
# A community's or a grid's open incidents (hundreds): an index-only range of the open rows'
# partial index, incident_open_path, which includes every column read here (grids migration
# 0020), and the 30 listed rows' community and stage read after LIMIT, by id. Before, a heap
# page per open row (the index lacked five of these columns: ~460 pages not in PostgreSQL's
# buffers for a place no one asked for lately, docs/performance.md round 8), then every entry
# the place ever had in incident_path_dashboard (~5,500 for a community's ~500 open rows).
# The planner takes the partial index because `status = ANY(…)` arrives with its values as
# literals that imply the index's predicate (client-side binding, the settings' default).
FEW = f"""
WITH o AS MATERIALIZED (
  SELECT i.id, i.status, i.urgency, i.created_at, i.due_at, i.category_id, i.resolve_due, i.resolved_at,
    i.path, i.extension_count
  FROM {Incident._meta.db_table} i
  WHERE i.path ~>=~ %(path)s AND i.path ~<~ %(path_end)s AND (i.path = %(path)s OR i.path LIKE %(under)s)
    AND i.status = ANY(%(open)s)
)"""  # noqa: S608 - our own constants; every value is a parameter
_FEW_LISTED = f"""SELECT o.id, o.status, o.urgency, o.created_at, o.due_at, w.due_stage, o.category_id, w.community_id
FROM (SELECT o.* FROM o {{where}} ORDER BY {{order}} LIMIT {{limit}}) o
JOIN {Incident._meta.db_table} w ON w.id = o.id"""  # noqa: S608 - our own constants
FEW_LISTS = (
    _FEW_LISTED.replace("{where}", "WHERE o.due_at < %(now)s")
    .replace("{order}", "o.due_at, o.id")
    .replace("{limit}", str(OVERDUE_LIMIT)),
    _FEW_LISTED.replace("{where}", "")
    .replace("{order}", "o.created_at, o.id")
    .replace("{limit}", str(OLDEST_LIMIT)),
)
# the scope as the path index's range (text_pattern_ops) plus the exact test (a path that
# continues p with a character below "/" is in the range but not under p)
UNDER = (
    "AND i.path ~>=~ %(path)s AND i.path ~<~ %(path_end)s AND (i.path = %(path)s OR i.path LIKE %(under)s)"
)


def statement(level: str, path: str, now: datetime) -> tuple[str, dict]:
    few = level in ("community", "grid")
    lists = "".join(
        "\nUNION ALL\n" + _NAMES.replace("{inner}", inner).replace("%(part)s", str(n))
        for n, inner in enumerate(FEW_LISTS if few else LISTS, 2)
    )
    if few:
        sql = FEW + SQL[SQL.index(")\nSELECT 0") + 1 :] + lists
    else:
        sql = (
            SQL.replace("{materialized}", "NOT MATERIALIZED").replace(
                "{scope}", "" if level == "city" else UNDER
            )
            + lists
        )
    params = {
        "open": [str(s) for s in OPEN_STATES],
        "late": [str(Status.ACCEPTED), str(Status.IN_PROGRESS)],
        "now": now,
        "path": path,
        "path_end": path + "/",  # "/" follows "." in byte order: the range of path and path.*
        "under": path.replace("_", "\\_").replace("%", "\\%") + ".%",
    }
    return sql, params


def present(level: str, path: str, now: datetime) -> Present | None:
    """The scope's present, or None where the database is not PostgreSQL (the caller reads it
    through the selectors' ORM reads)."""
    connection = connections[router.db_for_read(Incident)]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(*statement(level, path, now))
        rows = cursor.fetchall()
    out = Present(by_state={}, overdue=0)
    lists: dict[int, list[Listed]] = {2: out.overdue_list, 3: out.oldest}
    for part, pk, status, urgency, created_at, due_at, stage, path, ext, n, late, community, category in rows:
        if part == 0:
            out.by_state[status] = n
            out.overdue += late
        elif part == 1:
            out.late.append((created_at, path, ext))
        else:
            listed = Listed(pk, category, Named(community), status, urgency, created_at, due_at, stage or "")
            lists[part].append(listed)
    # the names were joined after LIMIT: the join gives no order back
    out.overdue_list.sort(key=lambda i: (i.due_at, i.pk))
    out.oldest.sort(key=lambda i: (i.created_at, i.pk))
    return out
