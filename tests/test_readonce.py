"""The configuration remembered across requests: forgotten when a row of it changes, here or in another process."""

import pytest
from django.core.cache import cache

from apps.policy.models import DemoMode, EntryPoint
from apps.policy.services import demo_mode_on, region_for, set_demo_mode
from supportdesk import readonce
from supportdesk.readonce import VERSION_KEY, read_once

pytestmark = pytest.mark.django_db


def remembered_demo_mode() -> bool:
    with read_once(across_requests=True):
        return demo_mode_on()


def test_a_block_remembers_across_requests_without_reading_again(django_assert_num_queries):
    set_demo_mode(on=True)
    assert remembered_demo_mode() is True
    with django_assert_num_queries(0):
        assert remembered_demo_mode() is True
    with read_once(), django_assert_num_queries(1):     # a block of its own reads afresh
        assert demo_mode_on() is True


def test_a_saved_configuration_row_is_forgotten_at_once(regions):
    set_demo_mode(on=True)
    assert remembered_demo_mode() is True
    set_demo_mode(on=False)                             # a save: post_save forgets
    assert remembered_demo_mode() is False
    with read_once(across_requests=True):
        assert region_for(entry_point="+46855500999") is None
    EntryPoint.objects.create(kind=EntryPoint.Kind.PHONE, address="+46855500999", region=regions["europe"])
    with read_once(across_requests=True):
        assert region_for(entry_point="+46855500999") == regions["europe"]


def test_a_change_in_another_process_is_seen_within_the_check_interval(monkeypatch):
    set_demo_mode(on=True)
    clock = {"now": 1000.0}
    monkeypatch.setattr(readonce.time, "monotonic", lambda: clock["now"])
    assert remembered_demo_mode() is True
    # Another process turned it off: its row changed and it bumped the shared version; this one did not see the save.
    DemoMode.objects.filter(pk=DemoMode.SINGLETON).update(always_open=False)
    cache.set(VERSION_KEY, (cache.get(VERSION_KEY) or 0) + 1, timeout=None)
    clock["now"] += readonce.VERSION_CHECK_SECONDS / 2
    assert remembered_demo_mode() is True               # within the interval: still the remembered answer
    clock["now"] += readonce.VERSION_CHECK_SECONDS
    assert remembered_demo_mode() is False


def test_the_cache_away_means_reading_afresh(monkeypatch):
    set_demo_mode(on=True)
    assert remembered_demo_mode() is True

    def away(*args, **kwargs):
        raise ConnectionError("redis is away")

    readonce.forget()
    monkeypatch.setattr(cache, "get", away)
    DemoMode.objects.filter(pk=DemoMode.SINGLETON).update(always_open=False)
    assert remembered_demo_mode() is False
