"""Proxy headers count only from TRUSTED_PROXIES: the client's address and scheme cannot be claimed."""

import asyncio

import pytest

from supportdesk.proxies import TrustedProxies, parse_networks


def seen_by_the_app(*, peer: str, headers: list[tuple[bytes, bytes]], trusted=("10.0.0.0/8",), kind="http") -> dict:
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    scope = {"type": kind, "client": (peer, 5555), "scheme": "http" if kind == "http" else "ws", "headers": headers}
    asyncio.run(TrustedProxies(app, networks=parse_networks(list(trusted)))(scope, None, None))
    return seen


def test_anyone_elses_forwarded_headers_are_dropped():
    scope = seen_by_the_app(peer="203.0.113.7", headers=[(b"x-forwarded-for", b"1.2.3.4"),
                                                         (b"X-Forwarded-Proto", b"https"), (b"host", b"desk")])
    assert scope["client"] == ("203.0.113.7", 5555)
    assert scope["scheme"] == "http"
    assert scope["headers"] == [(b"host", b"desk")]


def test_a_trusted_proxy_names_the_client_and_the_scheme():
    scope = seen_by_the_app(peer="10.0.0.5", headers=[(b"x-forwarded-for", b"198.51.100.20"),
                                                      (b"x-forwarded-proto", b"https")])
    assert scope["client"] == ("198.51.100.20", 0)
    assert scope["scheme"] == "https"
    assert scope["headers"] == []


def test_a_client_cannot_prepend_an_address_of_its_choice():
    """The balancer appends the peer it saw; whatever the client wrote before that is ignored."""
    scope = seen_by_the_app(peer="10.0.0.5", headers=[(b"x-forwarded-for", b"6.6.6.6, 198.51.100.20, 10.0.0.9")])
    assert scope["client"] == ("198.51.100.20", 0)


def test_websockets_get_the_secure_scheme_behind_a_tls_proxy():
    scope = seen_by_the_app(peer="10.1.2.3", headers=[(b"x-forwarded-proto", b"https")], kind="websocket")
    assert scope["scheme"] == "wss"


def test_with_no_trusted_proxies_the_peer_is_the_client():
    scope = seen_by_the_app(peer="10.0.0.5", headers=[(b"x-forwarded-for", b"1.2.3.4")], trusted=())
    assert scope["client"] == ("10.0.0.5", 5555) and scope["headers"] == []


def test_a_malformed_entry_stops_the_desk_at_start():
    import os
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run([sys.executable, "-c", "import django, os; os.environ.setdefault("
                           "'DJANGO_SETTINGS_MODULE', 'supportdesk.settings'); django.setup()"],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True,
                          env={**os.environ, "TRUSTED_PROXIES": "10.0.0.0/8,not-an-address"})
    assert done.returncode != 0 and "TRUSTED_PROXIES" in done.stderr


@pytest.mark.django_db
def test_the_desk_application_is_wrapped():
    from supportdesk.asgi import application

    assert isinstance(application, TrustedProxies)
