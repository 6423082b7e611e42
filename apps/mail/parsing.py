"""Parse raw mail bytes into what the desk needs; pure functions, no database.

The stdlib parser (``policy.default``) splits the MIME structure, decodes
transfer encodings and RFC 2231 parameters. Header *values* are decoded here
rather than by the policy's header registry: the registry turns unknown
charsets and raw 8-bit headers into lone surrogates that PostgreSQL refuses,
so each encoded word and each raw header goes through ``charsets.decode_bytes``
like the bodies do. Anything the parser cannot make sense of raises
``UnparseableEmail``; the caller then keeps the raw message on a flagged ticket.
"""

import base64
import binascii
import itertools
import mimetypes
import multiprocessing
import quopri
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from apps.mail import loops
from apps.mail.charsets import clean_text, decode_bytes
from apps.mail.htmltext import html_to_text, sanitise_html
from apps.mail.language import detector, language_of
from apps.mail.replies import latest_reply

MAX_PARTS = 500
MAX_DEPTH = 20
MAX_IDS = 100
MAX_ID_LENGTH = 998
MAX_HEADER_CHARS = 16_384

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?)")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_MESSAGE_ID = re.compile(rf"<[^<>\s]{{1,{MAX_ID_LENGTH - 2}}}>")
_BODY_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.I | re.M)
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")
_CRLF = re.compile(r"[\r\n\t]+")
# RFC 5322 obsolete syntax "From  : x" (white space before the colon), which the stdlib skips.
_OBS_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.M)


class _MimeHeaderCache(HeaderRegistry):
    """The policy's header registry, remembering parsed MIME headers.

    ``policy.default`` re-parses Content-Type on every ``get_content_type()``, and
    the feed parser asks for it several times per part; the same few values
    ("text/plain; charset=utf-8") recur across messages. Header objects are
    immutable, so sharing them is safe. Other headers (Received, Subject) are unique
    per message and not worth keeping.
    """

    CACHED = frozenset({"content-type", "content-disposition", "content-transfer-encoding", "mime-version"})

    def __init__(self):
        super().__init__()
        self._cache: dict[tuple[str, str], object] = {}

    def __call__(self, name, value):
        if name.lower() not in self.CACHED or len(value) > 512:
            return super().__call__(name, value)
        key = (name, value)
        header = self._cache.get(key)
        if header is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            header = self._cache[key] = super().__call__(name, value)
        return header


POLICY = policy.default.clone(header_factory=_MimeHeaderCache())
# Writing an attached message back out as it came (no refolding of its headers).
VERBATIM = policy.default.clone(refold_source="none", max_line_length=0, linesep="\r\n")


class UnparseableEmail(ValueError):
    """The bytes are not a mail message we can read; keep them raw and flag the ticket."""


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str = ""


@dataclass
class ParsedEmail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    reply_to: str = ""
    recipients: list[str] = field(default_factory=list)
    date: datetime | None = None
    content_language: str = ""
    text: str = ""
    html: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    automatic: list[str] = field(default_factory=list)
    bounced_message_ids: list[str] = field(default_factory=list)
    thread_index: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)
    # A person's mail (not automatic): the language it says or looks written in (one of the
    # six, None when unsure), and its new part read for a language. Both are worked out
    # where it is parsed, so a mailbox import does this in its worker processes.
    language: str | None = None
    replies: dict[str | None, str] = field(default_factory=dict)

    @property
    def is_automatic(self) -> bool:
        return bool(self.automatic)

    @property
    def is_bounce(self) -> bool:
        return "bounce" in self.automatic

    def reply_text(self, language: str | None) -> str:
        """The text without quoted history or signature, as the reply parser reads it for ``language``."""
        if language not in self.replies:
            self.replies[language] = latest_reply(self.text, language=language)
        return self.replies[language]

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this one answers: In-Reply-To first, then References newest first."""
        ids = list(self.in_reply_to)
        for ref in reversed(self.references):
            if ref not in ids:
                ids.append(ref)
        return ids[:MAX_IDS]


# --- headers -----------------------------------------------------------------

def _decode_word(charset: str, encoding: str, payload: str) -> str:
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix: =?utf-8*sv?Q?...?=
    try:
        if encoding in "bB":
            data = payload.encode("ascii", "ignore")
            data = base64.b64decode(data + b"=" * (-len(data) % 4))
        else:
            data = quopri.decodestring(payload.replace("_", " ").encode("ascii", "ignore"), header=True)
    except (binascii.Error, ValueError):
        return payload
    return decode_bytes(data, charset)


def decode_header_value(value: str) -> str:
    """A header's text: unfolded, 8-bit bytes decoded, RFC 2047 words decoded."""
    if not value:
        return ""
    value = _FOLD.sub("", str(value)[:MAX_HEADER_CHARS])
    if not value.isascii():
        try:
            raw = value.encode("ascii", "surrogateescape")
        except UnicodeEncodeError:
            raw = None  # already text (a parser that decoded it); keep it
        if raw is not None:
            value = decode_bytes(raw, None)
    if "=?" in value:
        value = _BETWEEN_WORDS.sub(r"\1", value)
        value = _ENCODED_WORD.sub(lambda m: _decode_word(m.group(1), m.group(2), m.group(3)), value)
    return clean_text(_CRLF.sub(" ", value)).strip()


def _headers(message: EmailMessage) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(str(name).strip().lower(), []).append(decode_header_value(value))
    return headers


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def message_ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value or "")[:MAX_IDS]


def _own_message_id(value: str) -> str:
    ids = message_ids(value)
    if ids:
        return ids[0]
    value = value.strip().strip("<>").strip()
    if value and " " not in value and len(value) < MAX_ID_LENGTH - 2:
        return f"<{value}>"
    return ""


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    found = []
    try:
        pairs = getaddresses(values)
    except Exception:  # getaddresses is lenient; a pathological value must not lose the mail
        pairs = []
    for name, address in pairs:
        address = address.strip().strip("<>").strip().lower()
        if _ADDRESS.match(address) and len(address) <= 254:
            found.append((name.strip().strip('"').strip()[:200], address))
    return found


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    # A date far in the past or future is a broken clock, not when we received it.
    if moment.year < 1990 or moment > datetime.now(UTC) + timedelta(days=1):
        return None
    return moment


# --- body and attachments ----------------------------------------------------

def _content_type(part) -> str:
    try:
        return part.get_content_type()
    except Exception:  # a malformed Content-Type falls back as RFC 2045 says
        return "text/plain"


def _charset(part) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def _payload_bytes(part) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            return raw.encode("ascii", "surrogateescape")
        return b""
    return payload


def _filename(part) -> str:
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:
        name = ""
    if isinstance(name, tuple):  # an RFC 2231 value the stdlib could not collapse
        name = name[2] or ""
    name = decode_header_value(str(name))
    return name.replace("/", "_").replace("\\", "_").strip()[:255]


def _disposition(part) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _default_name(content_type: str, index: int) -> str:
    extension = mimetypes.guess_extension(content_type) or ".bin"
    return f"part-{index}{extension}"


@dataclass
class _Walk:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    delivery_status: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    part_types: set[str] = field(default_factory=set)
    embedded_ids: list[str] = field(default_factory=list)
    count: int = 0


def _embedded_message(part, walk: _Walk) -> None:
    """An attached message (forward, or a DSN's copy of the bounced mail): kept as .eml."""
    inner = part.get_payload()
    inner = inner[0] if isinstance(inner, list) and inner else inner
    data = b""
    if isinstance(inner, EmailMessage):
        for name, value in inner.raw_items():
            if name.lower() == "message-id":
                walk.embedded_ids.extend(message_ids(decode_header_value(value))[:1])
        try:
            data = inner.as_bytes(policy=VERBATIM)
        except Exception:
            data = str(inner).encode("utf-8", "surrogateescape")
    else:
        data = _payload_bytes(part)
    walk.attachments.append(ParsedAttachment(
        filename=_filename(part) or f"message-{len(walk.attachments) + 1}.eml",
        content_type="message/rfc822", data=data))


def _walk(part, walk: _Walk, depth: int = 0) -> None:
    walk.count += 1
    if walk.count > MAX_PARTS or depth > MAX_DEPTH:
        return
    content_type = _content_type(part)
    walk.part_types.add(content_type)
    if content_type in ("message/rfc822", "message/global") and part.is_multipart():
        _embedded_message(part, walk)
        return
    if content_type in ("message/delivery-status", "message/global-delivery-status") and part.is_multipart():
        # The stdlib parses a DSN's status into header blocks; keep them as the readable text they were.
        blocks = ["\n".join(f"{name}: {decode_header_value(value)}" for name, value in block.raw_items())
                  for block in part.get_payload() if isinstance(block, EmailMessage)]
        walk.delivery_status.append("\n\n".join(blocks))
        return
    if part.is_multipart():
        payload = part.get_payload()
        for child in payload if isinstance(payload, list) else []:
            _walk(child, walk, depth + 1)
        return
    filename = _filename(part)
    disposition = _disposition(part)
    if content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        text = decode_bytes(_payload_bytes(part), _charset(part))
        (walk.plain if content_type == "text/plain" else walk.html).append(text)
        return
    if content_type in ("message/delivery-status", "message/global-delivery-status",
                        "text/rfc822-headers", "message/global-headers"):
        text = decode_bytes(_payload_bytes(part), _charset(part) or "utf-8")
        if content_type.endswith("headers"):
            walk.embedded_ids.extend(_BODY_MESSAGE_ID.findall(text)[:1])
        else:
            walk.delivery_status.append(text)
    data = _payload_bytes(part)
    try:
        content_id = (part.get("Content-ID") or "").strip().strip("<>")[:250]
    except Exception:
        content_id = ""
    walk.attachments.append(ParsedAttachment(
        filename=filename or _default_name(content_type, len(walk.attachments) + 1),
        content_type=content_type[:255], data=data,
        inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
        content_id=clean_text(content_id)))


# --- the message -------------------------------------------------------------

def parse_email(raw: bytes) -> ParsedEmail:
    """Everything the desk reads from one message; raises ``UnparseableEmail``."""
    if not raw or not raw.strip():
        raise UnparseableEmail("empty message")
    try:
        message = BytesParser(policy=POLICY).parsebytes(raw)
        if not message.keys() and _OBS_FIELD.match(raw):
            head, separator, body = raw.partition(b"\n\n") if b"\r\n\r\n" not in raw else raw.partition(b"\r\n\r\n")
            message = BytesParser(policy=POLICY).parsebytes(_OBS_FIELD.sub(rb"\1:", head) + separator + body)
    except Exception as error:
        raise UnparseableEmail(f"parser failed: {type(error).__name__}: {error}") from error
    if not message.keys():
        raise UnparseableEmail("no header fields")
    try:
        return _parse(message)
    except UnparseableEmail:
        raise
    except Exception as error:  # a stdlib or library bug on hostile input: keep it raw
        raise UnparseableEmail(f"{type(error).__name__}: {error}") from error


def _parse(message: EmailMessage) -> ParsedEmail:
    headers = _headers(message)
    known = {"from", "to", "subject", "date", "message-id", "content-type", "received", "return-path",
             "mime-version", "sender", "cc", "reply-to"}
    if not known.intersection(headers):
        raise UnparseableEmail("no mail header fields")
    walk = _Walk()
    _walk(message, walk)
    senders = (_addresses(headers.get("from", [])) or _addresses(headers.get("sender", []))
               or _addresses(headers.get("reply-to", [])) or _addresses(headers.get("return-path", [])))
    from_name, from_address = senders[0] if senders else ("", "")
    reply_to = _addresses(headers.get("reply-to", []))
    recipients = []
    for name in ("to", "cc", "delivered-to", "x-original-to", "envelope-to"):
        for _name, address in _addresses(headers.get(name, [])):
            if address not in recipients:
                recipients.append(address)
    html = "\n".join(part for part in walk.html if part.strip())
    text = "\n\n".join(part.strip("\r\n") for part in walk.plain if part.strip())
    if not text and html:
        text = html_to_text(html)
    subject = _first(headers, "subject")
    content_type = _content_type(message)
    parsed = ParsedEmail(
        message_id=_own_message_id(_first(headers, "message-id")),
        in_reply_to=message_ids(_first(headers, "in-reply-to")),
        references=message_ids(" ".join(headers.get("references", []))),
        subject=subject[:998],
        from_address=from_address, from_name=from_name,
        reply_to=reply_to[0][1] if reply_to else "",
        recipients=recipients[:50],
        date=_date(_first(headers, "date")),
        content_language=_first(headers, "content-language")[:100],
        text=clean_text(text).strip(),
        html=sanitise_html(html) if html else "",
        attachments=walk.attachments,
        thread_index=_first(headers, "thread-index")[:200],
        headers=headers,
    )
    parsed.automatic = loops.automatic_reasons(
        headers=headers, content_type=content_type, part_types=walk.part_types,
        sender=from_address, subject=subject)
    if parsed.is_bounce:
        if walk.delivery_status:
            parsed.text = (parsed.text + "\n\n" + "\n".join(walk.delivery_status)).strip()
        ids = walk.embedded_ids or _BODY_MESSAGE_ID.findall(parsed.text)
        parsed.bounced_message_ids = [i for i in dict.fromkeys(ids) if i != parsed.message_id][:MAX_IDS]
    if not parsed.is_automatic:
        parsed.language = language_of(content_language=parsed.content_language, text=parsed.text, default=None)
        parsed.reply_text(parsed.language)
    return parsed


def parse_or_error(raw: bytes | None) -> "ParsedEmail | UnparseableEmail | None":
    """``parse_email``'s result, or the ``UnparseableEmail`` it raised; None for None (a message not to parse).

    Worker processes return the error rather than raise it, so one bad message
    never stops a pool.
    """
    if raw is None:
        return None
    try:
        return parse_email(raw)
    except UnparseableEmail as error:
        return error
    except Exception as error:  # parse_email wraps everything; this is the pool's last line of defence
        return UnparseableEmail(f"{type(error).__name__}: {error}")


def parse_many(raws: Iterable[bytes], *, jobs: int = 1, window: int = 200, max_bytes: int | None = None,
               ) -> Iterator[tuple[bytes, "ParsedEmail | UnparseableEmail | None"]]:
    """``(raw, parse_or_error(raw))`` in input order, parsed by ``jobs`` worker processes.

    Parsing is CPU-bound and pure, so it runs in parallel while the caller files
    what came before: the workers parse the next ``window`` messages while the
    caller consumes the current ones, and no more than two windows are in memory.
    A message over ``max_bytes`` is not parsed (None). ``jobs`` <= 1 parses here.
    """
    def wanted(raw: bytes) -> bytes | None:
        return None if max_bytes is not None and len(raw) > max_bytes else raw

    source = iter(raws)
    if jobs <= 1:
        for raw in source:
            yield raw, parse_or_error(wanted(raw))
        return
    # fork: the workers need nothing but this module, and start in milliseconds. They never
    # touch the parent's database connection and leave by os._exit, so it stays the parent's.
    detector()  # loaded once here, so the forked workers share it instead of each loading it
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        chunksize = max(1, min(16, window // (jobs * 4)))

        def start(raws: list[bytes]):
            # A copy of the same bytes (one mail in several folders) is parsed once.
            unique = list(dict.fromkeys(wanted(raw) for raw in raws))
            return unique, pool.map_async(parse_or_error, unique, chunksize)

        # Windows start small and double, so the caller starts filing while the workers parse on.
        size = min(window, 8 * jobs)
        current = list(itertools.islice(source, size))
        pending = start(current) if current else None
        while current:
            unique, results = pending[0], pending[1].get()
            size = min(window, size * 2)
            following = list(itertools.islice(source, size))
            if following:
                pending = start(following)
            parsed = dict(zip(unique, results))
            yield from ((raw, parsed[wanted(raw)]) for raw in current)
            current = following


def headers_only(raw: bytes) -> dict[str, str]:
    """Best-effort headers of a message that failed to parse (for the flagged ticket)."""
    try:
        message = HeaderParser(policy=policy.compat32).parsestr(raw[:MAX_HEADER_CHARS * 4].decode(
            "ascii", "surrogateescape"))
        return {name.lower(): decode_header_value(str(value)) for name, value in message.items()}
    except Exception:
        return {}
