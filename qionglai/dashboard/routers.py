"""The dashboard's reads can go to a PostgreSQL read replica (design §10: scaling out).

`DATABASE_REPLICA_URL` adds a `replica` database alias; inside `replica_reads()` (every
dashboard view) the router sends reads there. Writes, the fill and every other app's reads stay
on the primary, so a replica a few seconds behind can only make the dashboard a few seconds
older — and its 「数据截至」 comes from the same replica, so it says so.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

REPLICA = "replica"
_reading = ContextVar("dashboard_replica_reads", default=False)


@contextmanager
def replica_reads():
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def reads_from_replica(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped


class DashboardReplicaRouter:
    def db_for_read(self, model, **hints):
        if _reading.get() and settings.DASHBOARD_READ_REPLICA and REPLICA in connections.settings:
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return None

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None  # a replica follows the primary, never migrated
