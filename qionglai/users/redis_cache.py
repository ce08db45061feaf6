"""Django's Redis cache backend, with one redis-py client per connection pool kept instead of
a new one per cache call. Django builds a `redis.Redis` for every get/set; with redis-py 7 that
construction (option handling, response-callback tables) cost about as much CPU as the round
trip itself, and a request reads the cache two or three times (session, identity, throttles).
A client over a pool is thread-safe and the pool checks the process id after a fork, so
sharing it changes nothing else. (Here because the identity cache and the throttles are what
made it matter; it serves every cache user.)"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
