"""Rate limits: token buckets per socket and per IP address, and a shared counter per IP.

Message limits live in the process (a dict of buckets): they are checked on every
frame, and a Redis round trip per frame would cost more than the chat itself. With
several server processes an address can therefore send up to that many times the
per-IP rate; the per-socket limit is exact. Conversation starts are rare and are
counted in the shared cache, so that limit holds across processes.
"""

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

_MAX_TRACKED_ADDRESSES = 50_000


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


def ip_message_wait(address: str | None) -> float:
    """Seconds this address must wait before its next message (0: go ahead)."""
    if not address:
        return 0.0
    bucket = _ip_buckets.get(address)
    if bucket is None:
        if len(_ip_buckets) >= _MAX_TRACKED_ADDRESSES:
            _ip_buckets.clear()      # forgetting is safe: the per-socket limits still hold
        rate = settings.CHAT_IP_MESSAGES_PER_MINUTE / 60.0
        bucket = _ip_buckets[address] = TokenBucket(rate=rate, burst=max(rate * 10, settings.CHAT_MESSAGE_BURST))
    return bucket.take()


def conversation_start_allowed(address: str | None) -> bool:
    """At most CHAT_IP_CONVERSATIONS_PER_HOUR new conversations per address and hour, across processes."""
    if not address:
        return True
    key = f"chat:starts:{address}:{int(time.time() // 3600)}"
    cache.add(key, 0, 3600)
    try:
        count = cache.incr(key)
    except ValueError:          # expired between add and incr
        cache.set(key, 1, 3600)
        count = 1
    return count <= settings.CHAT_IP_CONVERSATIONS_PER_HOUR
