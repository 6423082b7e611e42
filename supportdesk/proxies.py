"""The client's real address and scheme, taken from proxy headers only when a trusted proxy sent them.

daphne puts the connecting peer in the ASGI scope. Behind a load balancer that peer is
the balancer, so every visitor would share one rate limit; trusting ``X-Forwarded-For``
from anyone would let each request pick its own address (and ``X-Forwarded-Proto`` its
own scheme). Here the headers count only from a peer in ``TRUSTED_PROXIES``; from
anyone else they are removed before Django or a consumer sees them.
"""

from ipaddress import ip_address, ip_network

FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-real-ip", b"forwarded")
SCHEMES = {"http": {"http": "http", "https": "https"}, "websocket": {"http": "ws", "https": "wss"}}


def parse_networks(entries: list[str]) -> tuple:
    """``TRUSTED_PROXIES`` entries: addresses or networks (``10.0.0.0/8``); a bad one raises ValueError."""
    return tuple(ip_network(entry, strict=False) for entry in entries)


class TrustedProxies:
    """ASGI middleware: rewrites ``client`` and ``scheme`` from a trusted proxy's headers."""

    def __init__(self, app, *, networks: tuple):
        self.app, self.networks = app, networks

    def trusted(self, address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self.networks)

    async def __call__(self, scope, receive, send):
        if scope["type"] in SCHEMES:
            scope = self.resolve(scope)
        return await self.app(scope, receive, send)

    def resolve(self, scope: dict) -> dict:
        headers = scope.get("headers") or []
        kept = [(name, value) for name, value in headers if name.lower() not in FORWARDED]
        peer = (scope.get("client") or ("", 0))[0]
        if not self.networks or not self.trusted(peer):
            return {**scope, "headers": kept} if len(kept) != len(headers) else scope
        chain = [hop.strip() for name, value in headers if name.lower() == b"x-forwarded-for"
                 for hop in value.decode("latin-1").split(",") if hop.strip()]
        client = peer
        for hop in reversed(chain):      # the nearest hop not ours is the client
            client = hop
            if not self.trusted(hop):
                break
        resolved = {**scope, "headers": kept, "client": (client, 0)}
        protos = [value.decode("latin-1").split(",")[-1].strip().lower() for name, value in headers
                  if name.lower() == b"x-forwarded-proto"]
        if protos and protos[-1] in SCHEMES[scope["type"]]:
            resolved["scheme"] = SCHEMES[scope["type"]][protos[-1]]
        return resolved
