"""Django's PostgreSQL backend with a connection health check that costs no round trip while
the connection is quiet (issue #10: the `SELECT 1` Django sends at every request's first query).

Django's check (CONN_HEALTH_CHECKS) asks the server `SELECT 1` before a request's first query on
a reused connection, so that a connection the server has dropped since the last request is
replaced instead of failing that request with a 500. Between two requests an idle connection
receives nothing; what drops it reaches its socket: a terminated backend (pg_terminate_backend,
idle timeouts, a server shut down or restarted) writes its FATAL error and closes, a crashed one
leaves the kernel's FIN or RST. So this check first asks the kernel, without waiting, whether the
socket has anything to read or is closed; only then does it run Django's `SELECT 1` (which also
reads whatever else arrived, e.g. a parameter change after a configuration reload). A quiet socket
is a connection that is still there, as far as `SELECT 1` could tell too: what neither sees (a
peer gone without a word) makes the query and the `SELECT 1` alike wait for TCP's timeout.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base

# select.poll is POSIX; where it is missing every check is Django's `SELECT 1`
HAS_POLL = hasattr(select, "poll")
POLL_NEWS = (
    select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP | select.POLLNVAL if HAS_POLL else 0
)


def socket_has_news(connection) -> bool:
    """True when the psycopg connection's socket has something to read, has been closed, or
    cannot be asked (then the caller runs the real check)."""
    if not HAS_POLL:
        return True
    try:
        if connection.closed or connection.broken:
            return True
        fd = connection.pgconn.socket
        poller = select.poll()  # poll, not select(): any descriptor number works
        poller.register(fd, POLL_NEWS)
        return bool(poller.poll(0))
    except Exception:  # a closed pgconn raises on .socket: let Django's check decide
        return True


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and not socket_has_news(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
