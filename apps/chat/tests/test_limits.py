"""Per-IP message limits hold across server processes: each shares its counts through Redis."""

import socket
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine

from apps.chat import limits

MINUTE = datetime(2026, 3, 2, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def limit_of_ten(settings):
    settings.CHAT_IP_MESSAGES_PER_MINUTE = 10
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    return settings


@pytest.mark.redis(reason="processes share their per-IP counts through Redis")
def test_two_processes_together_cannot_send_more_than_the_per_ip_limit(limit_of_ten):
    first, second = (limits.SharedIpMinutes(limit_of_ten.REDIS_URL) for _process in range(2))
    with time_machine.travel(MINUTE + timedelta(seconds=20), tick=False) as clock:
        for _message in range(6):
            first.count("203.0.113.7")
            second.count("203.0.113.7")
        second.count("198.51.100.1")
        first.share_soon()
        assert first.wait("203.0.113.7") == 0                 # 6 so far: under the limit
        second.share_soon()
        assert second.wait("203.0.113.7") == 40.0             # 12 together: refused until the minute ends
        assert second.wait("198.51.100.1") == 0               # another address is not affected
        first.count("203.0.113.7")
        first.share_soon()
        assert first.wait("203.0.113.7") == 40.0              # the first process learns at its next share
        clock.move_to(MINUTE + timedelta(seconds=61))
        assert first.wait("203.0.113.7") == second.wait("203.0.113.7") == 0
        first.count("203.0.113.7")
        first.share_soon()
        assert first.wait("203.0.113.7") == 0                 # a new minute counts from 1


@pytest.mark.redis(reason="processes share their per-IP counts through Redis")
def test_the_socket_path_refuses_an_address_the_other_processes_used_up(limit_of_ten):
    address = "192.0.2.44"
    other_process = limits.SharedIpMinutes(limit_of_ten.REDIS_URL)
    with time_machine.travel(MINUTE, tick=False):
        other_process.share(limits.Counter({address: 10}))
        ours = limits.shared_ip_minutes()
        ours.count(address)
        ours.share_soon()
        assert limits.ip_message_wait(address) == 60.0
        assert limits.ip_message_wait("192.0.2.45") == 0


def test_without_redis_counts_are_dropped_and_nothing_is_refused(settings):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    shared = limits.SharedIpMinutes(f"redis://127.0.0.1:{port}/0")     # nothing listens there
    for _message in range(50):
        shared.count("203.0.113.9")
    shared.share_soon()
    assert shared.wait("203.0.113.9") == 0 and not shared.unsent
