"""Sessions kept in the database and, with the identity cache on, read from the cache
(Django's cached_db: written to both, read from the cache first). A cache that fails is read
and written around (the database stays the record), never a 500. A cached copy lives at most
identity.TTL seconds (not the session's two weeks), so a logout whose cache delete failed while
Redis was unreachable cannot sign anyone in for longer than that once it is back."""

from __future__ import annotations

import logging

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore

from . import identity

logger = logging.getLogger(__name__)


class SessionStore(CachedDBStore):
    def load(self):
        if not identity.enabled():
            return DBStore.load(self)
        try:
            data = self._cache.get(self.cache_key)
        except Exception:
            logger.warning("session cache unreadable, reading the database", exc_info=True)
            return DBStore.load(self)
        if data is not None:
            return data
        s = self._get_session_from_db()
        if not s:
            return {}
        data = self.decode(s.session_data)
        try:
            self._cache.set(
                self.cache_key, data, min(identity.TTL, self.get_expiry_age(expiry=s.expire_date))
            )
        except Exception:
            logger.warning("session cache unwritable", exc_info=True)
        return data

    def exists(self, session_key):
        # asked when a new key is made: the database is the record (no stale cached answer)
        return DBStore.exists(self, session_key)

    def save(self, must_create=False):
        # written through whether or not the cache is read, so switching it on never reads a
        # session older than the database's
        DBStore.save(self, must_create)
        try:
            self._cache.set(self.cache_key, self._session, min(identity.TTL, self.get_expiry_age()))
        except Exception:
            logger.warning("session cache unwritable", exc_info=True)

    def delete(self, session_key=None):
        DBStore.delete(self, session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception:  # the copy expires within identity.TTL (above)
            logger.error("session cache delete failed", exc_info=True)
