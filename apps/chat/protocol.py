"""The chat wire protocol: parsing and validating client frames (docs/chat-protocol.md).

Consumers call ``parse_frame`` and get a ``Frame`` or a ``ProtocolError`` whose code
goes back to the client in an error frame; nothing here touches the database.
"""

import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

VISITOR_TYPES = frozenset({"message", "resume", "typing", "read", "ping", "end", "transcript", "email_instead"})
AGENT_TYPES = frozenset({"chat.send", "chat.typing", "chat.read", "chat.resume", "chat.ping", "chat.end"})

# Close codes (documented in docs/chat-protocol.md).
CLOSE_TOKEN_INVALID = 4401
CLOSE_OTHER_CONVERSATION = 4403
CLOSE_UNKNOWN_CONVERSATION = 4404
CLOSE_BAD_INPUT = 4400
CLOSE_FLOOD = 4429

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Control characters other than tab and newline never reach storage or the other side.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ProtocolError(ValueError):
    def __init__(self, code: str, detail: str, client_id: str = ""):
        super().__init__(detail)
        self.code, self.detail, self.client_id = code, detail, client_id

    def frame(self) -> dict:
        frame = {"type": "error", "code": self.code, "detail": self.detail}
        if self.client_id:
            frame["client_id"] = self.client_id
        return frame


@dataclass(frozen=True)
class Frame:
    type: str
    data: dict


def decode(text: str | None, binary: bytes | None) -> dict:
    """The JSON object in a text frame; size is checked before parsing."""
    if text is None:
        raise ProtocolError("bad_frame", _("Frames must be JSON text, not binary."))
    if len(text) > settings.CHAT_MAX_FRAME_BYTES or len(text.encode()) > settings.CHAT_MAX_FRAME_BYTES:
        raise ProtocolError("too_large", _("A frame may be at most %(limit)d bytes.")
                            % {"limit": settings.CHAT_MAX_FRAME_BYTES})
    try:
        frame = json.loads(text)
    except ValueError as error:
        raise ProtocolError("bad_json", _("The frame is not valid JSON.")) from error
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise ProtocolError("bad_frame", _("A frame is a JSON object with a \"type\"."))
    return frame


def _client_id(frame: dict) -> str:
    value = frame.get("client_id")
    if not isinstance(value, str) or not CLIENT_ID.match(value):
        raise ProtocolError("bad_frame", _("\"client_id\" must be 1-64 letters, digits or _.:-"))
    return value


def clean_body(value, client_id: str = "") -> str:
    if not isinstance(value, str):
        raise ProtocolError("bad_frame", _("\"body\" must be a string."), client_id)
    body = CONTROL.sub("", value).strip()
    if not body:
        raise ProtocolError("empty", _("The message is empty."), client_id)
    if len(body) > settings.CHAT_MAX_MESSAGE_CHARS:
        raise ProtocolError("too_long", _("A message may be at most %(limit)d characters.")
                            % {"limit": settings.CHAT_MAX_MESSAGE_CHARS}, client_id)
    return body


def _seq(frame: dict, name: str) -> int:
    value = frame.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError("bad_frame", _("\"%(name)s\" must be a non-negative integer.") % {"name": name})
    return value


def parse_visitor_frame(text: str | None, binary: bytes | None = None) -> Frame:
    frame = decode(text, binary)
    kind = frame["type"]
    if kind not in VISITOR_TYPES:
        raise ProtocolError("unknown_type", _("Unknown frame type %(type)s.") % {"type": kind[:40]})
    if kind == "message":
        client_id = _client_id(frame)
        return Frame(kind, {"client_id": client_id, "body": clean_body(frame.get("body"), client_id)})
    if kind == "resume":
        return Frame(kind, {"after": _seq(frame, "after")})
    if kind == "read":
        return Frame(kind, {"seq": _seq(frame, "seq")})
    if kind == "ping":
        return Frame(kind, {"last_seq": _seq(frame, "last_seq") if "last_seq" in frame else None})
    return Frame(kind, {})


def parse_agent_frame(frame: dict) -> Frame:
    """Agent frames arrive already decoded by the console socket."""
    kind = frame["type"]
    ticket = frame.get("ticket")
    if not isinstance(ticket, str) or not 0 < len(ticket) <= 16:
        raise ProtocolError("bad_frame", _("\"ticket\" must be a ticket reference."))
    data = {"ticket": ticket}
    if kind == "chat.send":
        client_id = _client_id(frame)
        data.update(client_id=client_id, body=clean_body(frame.get("body"), client_id))
    elif kind == "chat.read":
        data["seq"] = _seq(frame, "seq")
    elif kind == "chat.resume":
        data["after"] = _seq(frame, "after")
    return Frame(kind, data)
