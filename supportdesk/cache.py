"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps its cache objects per context (``CacheHandler`` is not thread-critical), and each
``RedisCache`` makes its own client and pools. Under ASGI every request runs in a context of
its own, so each request that touched the cache opened a new Redis connection (the connect, the
client handshake, a package-version lookup) and left it for the collector: on the phone line,
every stored webhook. Django's open pull request #18459 describes the same leak. Here the
cache objects stay per context as Django wants, and share the process's client; redis-py's
pools are thread-safe and start afresh in a forked child.
"""

import threading

from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

_clients: dict[tuple, object] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            if key not in _clients:
                _clients[key] = self._class(self._servers, **self._options)
            return _clients[key]
