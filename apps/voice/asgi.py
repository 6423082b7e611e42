"""Twilio's webhooks answered in front of Django's middleware, from a thread of their own.

A webhook needs none of what Django's middleware stack does for a browser (sessions,
language, CSRF, messages, authentication), and under ASGI each Django request also gets
a thread of its own. At a few hundred webhooks a second that per-request cost is most of
the answer's time (bench/RESULTS.md). This route takes ``POST /voice/<webhook>`` (with or
without the trailing slash) while the phone line is on, checks the signature and answers
through the same webhook code as the Django views (``webhooks.WEBHOOKS``); everything else,
including a GET or an unknown path under ``/voice/``, goes on to Django unchanged.

The webhooks run on a small pool of threads that keep their database connections between
requests (checked before each, as Django's request cycle does).
"""

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.utils.encoding import escape_uri_path, iri_to_uri

from apps.voice.webhooks import WEBHOOKS, Hook

log = logging.getLogger(__name__)
PATH = re.compile(r"^/voice/(?P<name>[a-z-]+)/?$")
FORM = b"application/x-www-form-urlencoded"


class Refused(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status, self.text = status, text


def _respond(name: str, hook: Hook) -> tuple[int, str]:
    close_old_connections()
    try:
        if not hook.signed_by_twilio:
            log.warning("refused an unsigned or wrongly signed request to /voice/%s", name)
            return 403, "bad signature"
        return 200, WEBHOOKS[name](hook)
    finally:
        close_old_connections()


class PhoneLine:
    """ASGI middleware: the phone line's webhooks here, every other request to ``application``."""

    def __init__(self, application, *, threads: int | None = None):
        self.application = application
        self.executor = ThreadPoolExecutor(max_workers=threads or settings.VOICE_WEBHOOK_THREADS,
                                           thread_name_prefix="voice-webhook")
        self.respond = sync_to_async(_respond, thread_sensitive=False, executor=self.executor)

    async def __call__(self, scope, receive, send):
        name = self.webhook_of(scope)
        if name is None:
            return await self.application(scope, receive, send)
        try:
            hook = await self.hook_of(scope, receive)
        except Refused as refused:
            return await self.answer(send, refused.status, refused.text, "text/plain")
        status, text = await self.respond(name, hook)
        await self.answer(send, status, text, "text/xml" if status == 200 else "text/plain")

    @staticmethod
    def webhook_of(scope) -> str | None:
        if scope["type"] != "http" or scope["method"] != "POST" or not settings.TWILIO_ENABLED:
            return None
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        match = PATH.match(path)
        return match["name"] if match and match["name"] in WEBHOOKS else None

    @staticmethod
    async def hook_of(scope, receive) -> Hook:
        """The request as Django would read it: the form (if the body is one), the query, the full path."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Refused(400, "disconnected")
            body += message.get("body", b"")
            if settings.DATA_UPLOAD_MAX_MEMORY_SIZE and len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                raise Refused(413, "too large")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        query_string = scope.get("query_string", b"").decode("latin-1")
        try:
            query = dict(parse_qsl(query_string, keep_blank_values=True))
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                  max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)
                        ) if headers.get(b"content-type", b"").split(b";")[0].strip() == FORM else {}
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, "malformed request") from None
        full_path = escape_uri_path(scope["path"]) + (f"?{iri_to_uri(query_string)}" if query_string else "")
        return Hook(form=form, query=query, full_path=full_path,
                    signature=headers.get(b"x-twilio-signature", b"").decode("latin-1"))

    @staticmethod
    async def answer(send, status: int, text: str, content_type: str) -> None:
        body = text.encode("utf-8")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
                                (b"x-content-type-options", b"nosniff")]})
        await send({"type": "http.response.body", "body": body})
