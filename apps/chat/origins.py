"""Which pages may open websockets: the widget's from embedding sites, the rest from our hosts.

The console socket is authorised by a session cookie, so it keeps Channels' host check
against cross-site websocket hijacking. The visitor socket carries its own token and
no cookie is needed, so pages on other sites (CHAT_ALLOWED_ORIGINS) may open it.
"""

from apps.chat.middleware import origin_allowed

CHAT_PREFIX = "/ws/chat/"


class WidgetOriginGate:
    def __init__(self, app, *, fallback):
        self.app, self.fallback = app, fallback

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and scope["path"].startswith(CHAT_PREFIX):
            origin = dict(scope.get("headers", [])).get(b"origin", b"").decode("latin-1")
            if origin_allowed(origin):
                return await self.app(scope, receive, send)
        return await self.fallback(scope, receive, send)
