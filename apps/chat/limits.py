"""Rate limits: token buckets per socket and per IP address, and shared counters per IP.

Message limits are checked in the process on every frame: a Redis round trip per frame
would cost more than the chat itself. So that an address cannot send the per-IP rate
once per server process, each process also adds up what it let through per address and
minute, and once a second sends the sums to Redis in one round trip, off the event loop:
an address over the limit across all processes is refused in every process that sees
it until the minute ends. Conversation starts are rare and are counted in the shared
cache directly.
"""

import asyncio
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

_MAX_TRACKED_ADDRESSES = 50_000
SHARE_EVERY_SECONDS = 1.0
log = logging.getLogger(__name__)


@dataclass
class TokenBucket:
    rate: float                      # tokens per second
    burst: float
    tokens: float = field(default=-1.0)
    stamp: float = field(default_factory=time.monotonic)

    def take(self, now: float | None = None) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        if self.tokens < 0:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate else 60.0


def visitor_message_bucket() -> TokenBucket:
    return TokenBucket(rate=settings.CHAT_VISITOR_MESSAGES_PER_MINUTE / 60.0, burst=settings.CHAT_MESSAGE_BURST)


def frame_bucket() -> TokenBucket:
    rate = float(settings.CHAT_FRAMES_PER_SECOND)
    return TokenBucket(rate=rate, burst=rate * 2)


_ip_buckets: dict[str, TokenBucket] = {}


class SharedIpMinutes:
    """This process's share of each address's messages per minute, and the verdict of the sum.

    Without Redis (one process, embedded) there is nothing to share and the buckets alone hold.
    """

    def __init__(self, redis_url: str | None):
        self.redis_url = redis_url
        self.unsent: Counter = Counter()
        self.refused_until: dict[str, float] = {}
        self.shared_at = time.monotonic()
        self._client = None
        self._lock = threading.Lock()

    def wait(self, address: str) -> float:
        """Seconds until the minute in which every process together reached the limit ends."""
        until = self.refused_until.get(address)
        if until is None:
            return 0.0
        left = until - time.time()
        if left <= 0:
            self.refused_until.pop(address, None)
            return 0.0
        return left

    def count(self, address: str) -> None:
        if not self.redis_url:
            return
        self.unsent[address] += 1
        if time.monotonic() - self.shared_at >= SHARE_EVERY_SECONDS:
            self.share_soon()

    def share_soon(self) -> None:
        """Send the counts from a worker thread when on an event loop: a frame never waits for Redis."""
        self.shared_at = time.monotonic()
        counts, self.unsent = self.unsent, Counter()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.share(counts)
        else:
            loop.run_in_executor(None, self.share, counts)

    def share(self, counts: Counter) -> None:
        """Add ``counts`` to this minute's sums in Redis; refuse the addresses now over the limit."""
        if not counts:
            return
        minute = int(time.time() // 60)
        try:
            with self._lock:
                if self._client is None:
                    import redis

                    self._client = redis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
                with self._client.pipeline(transaction=False) as pipe:
                    for address, count in counts.items():
                        key = f"chat:ip-minute:{minute}:{address}"
                        pipe.incrby(key, count)
                        pipe.expire(key, 120)
                    totals = pipe.execute()[::2]
        except Exception:
            # Redis away: the per-process buckets still hold; this minute's share is lost.
            log.warning("per-IP chat counts not shared", exc_info=True)
            return
        if len(self.refused_until) >= _MAX_TRACKED_ADDRESSES:
            self.refused_until.clear()
        for address, total in zip(counts, totals):
            if total >= settings.CHAT_IP_MESSAGES_PER_MINUTE:
                self.refused_until[address] = (minute + 1) * 60.0


_shared: SharedIpMinutes | None = None


def shared_ip_minutes() -> SharedIpMinutes:
    global _shared
    if _shared is None or _shared.redis_url != settings.REDIS_URL:
        _shared = SharedIpMinutes(settings.REDIS_URL)
    return _shared


def ip_message_wait(address: str | None) -> float:
    """Seconds this address must wait before its next message (0: go ahead)."""
    if not address:
        return 0.0
    shared = shared_ip_minutes()
    wait = shared.wait(address)
    if wait:
        return wait
    bucket = _ip_buckets.get(address)
    if bucket is None:
        if len(_ip_buckets) >= _MAX_TRACKED_ADDRESSES:
            _ip_buckets.clear()      # forgetting is safe: the per-socket limits still hold
        rate = settings.CHAT_IP_MESSAGES_PER_MINUTE / 60.0
        bucket = _ip_buckets[address] = TokenBucket(rate=rate, burst=max(rate * 10, settings.CHAT_MESSAGE_BURST))
    wait = bucket.take()
    if not wait:
        shared.count(address)
    return wait


def conversation_start_allowed(address: str | None) -> bool:
    """At most CHAT_IP_CONVERSATIONS_PER_HOUR new conversations per address and hour, across processes."""
    if not address:
        return True
    hour, into_hour = divmod(int(time.time()), 3600)
    key = f"chat:starts:{address}:{hour}"
    lifetime = 3600 - into_hour + 1     # the key is this clock hour's: it goes when the hour does
    try:
        cache.add(key, 0, lifetime)
        try:
            count = cache.incr(key)
        except ValueError:          # expired between add and incr
            cache.set(key, 1, lifetime)
            count = 1
    except Exception:
        # The shared count is away (Redis): a visitor's question matters more than the limit for a while.
        log.warning("conversation start limit not checked: the cache failed", exc_info=True)
        return True
    return count <= settings.CHAT_IP_CONVERSATIONS_PER_HOUR
