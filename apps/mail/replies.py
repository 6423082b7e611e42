"""The new part of a reply: quoted history and signatures stripped, the original kept elsewhere.

mail-parser-reply knows the "On … wrote:" lines of all six desk languages
(and Outlook's header blocks), so a Swedish "Den … skrev:" is cut as well as an
English one. Its regexes run on at most ``MAX_CHARS``; longer bodies are kept whole.
"""

import logging
import re

from mailparser_reply import EmailReplyParser

log = logging.getLogger(__name__)

MAX_CHARS = 100_000
# A separator line the parser leaves behind ("-----Ursprüngliche Nachricht-----", "________").
_TRAILING_SEPARATOR = re.compile(r"(?:\n[ \t]*(?:-{3,}[^\n]*-{3,}|_{5,}|-{5,})[ \t]*)+\s*$")
# RFC 3676's signature separator, "-- " alone on a line.
_SIGNATURE = re.compile(r"^-- ?\r?$", re.M)
PARSER_LANGUAGES = {"en": "en", "sv": "sv", "es": "es", "de": "de", "zh-hans": "zh", "ja": "ja"}


def latest_reply(text: str, *, language: str | None = None) -> str:
    """The reply without quoted history or signature; the whole text when nothing is left."""
    if not text.strip() or len(text) > MAX_CHARS:
        return text.strip()
    languages = ["en"]
    if language in PARSER_LANGUAGES and PARSER_LANGUAGES[language] != "en":
        languages.insert(0, PARSER_LANGUAGES[language])
    try:
        reply = EmailReplyParser(languages=languages).parse_reply(text)
    except Exception:  # a library bug must not lose the body; the full text is kept anyway
        log.exception("reply parser failed; keeping the whole body")
        return text.strip()
    reply = _SIGNATURE.split(reply or "", maxsplit=1)[0]
    reply = _TRAILING_SEPARATOR.sub("", "\n" + reply).strip()
    return reply or text.strip()
