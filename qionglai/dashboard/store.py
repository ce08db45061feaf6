"""Bytes in the cache for the data endpoint's hot path (payload.py): stored and read as they
are, with one Redis client per process.

Django's RedisCache builds a new `redis.Redis` for every operation (its constructor fills a
table of ~80 response callbacks: 0.5–0.9 ms of CPU each time, measured, four times per data
request) and pickles every value. Here the client is made once per connection pool (redis-py's
client is thread-safe over its pool) and values are bytes, so a hit is one MGET (stamp, the
watermark, place names) and one GET (the body) and nothing is decoded. Keys go through the
default cache's own key function (KEY_PREFIX, VERSION), so they live beside its other keys and
`cache.clear()` forgets them. Without Redis (the embedded default's local memory cache) the
same calls go through the cache API.
"""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

_CLIENTS: dict[int, object] = {}


def _redis(backend):
    # RedisCacheClient keeps one pool per server; with one server reads and writes share it
    client_maker = backend._cache
    pool = client_maker._get_connection_pool(write=True)
    client = _CLIENTS.get(id(pool))
    if client is None or client.connection_pool is not pool:
        client = _CLIENTS[id(pool)] = client_maker._client(connection_pool=pool)
    return client


def get_many(keys: list[str]) -> list[bytes | None]:
    backend = caches["default"]
    full = [backend.make_and_validate_key(k) for k in keys]
    if isinstance(backend, RedisCache):
        return _redis(backend).mget(full)
    found = backend.get_many(keys)
    return [found.get(k) for k in keys]


def get(key: str) -> bytes | None:
    return get_many([key])[0]


def set_many(values: dict[str, bytes], timeout: int) -> None:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        with _redis(backend).pipeline(transaction=False) as pipe:
            for k, v in values.items():
                pipe.set(backend.make_and_validate_key(k), v, ex=timeout)
            pipe.execute()
        return
    backend.set_many(values, timeout)


def set(key: str, value: bytes, timeout: int) -> None:
    set_many({key: value}, timeout)


# A small map in one key (a Redis hash): what the warm-up keeps of the scopes viewers watch.
# Without Redis, a dict under one cache key (the embedded default: one process, few viewers).
def map_set(name: str, field: str, value: bytes, timeout: int) -> None:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full = backend.make_and_validate_key(name)
        with _redis(backend).pipeline(transaction=False) as pipe:
            pipe.hset(full, field, value)
            pipe.expire(full, timeout)
            pipe.execute()
        return
    found = backend.get(name) or {}
    found[field] = value
    backend.set(name, found, timeout)


def map_get(name: str) -> dict[str, bytes]:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        raw = _redis(backend).hgetall(backend.make_and_validate_key(name))
        return {k.decode(): v for k, v in raw.items()}
    return dict(backend.get(name) or {})


def map_delete(name: str, fields: list[str]) -> None:
    if not fields:
        return
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        _redis(backend).hdel(backend.make_and_validate_key(name), *fields)
        return
    found = backend.get(name) or {}
    for field in fields:
        found.pop(field, None)
    backend.set(name, found)


def delete(key: str) -> None:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        _redis(backend).delete(backend.make_and_validate_key(key))
        return
    backend.delete(key)
