"""Text from outside: one-line fields (names, subjects) and the characters no field may hold."""

import re
import unicodedata

# Line breaks of every kind (CR, LF, VT, FF, NEL, U+2028/2029) and tabs: a space in a one-line field.
_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


def one_line(value: str | None, *, max_length: int | None = None) -> str:
    """A one-line text field as headers and subjects can carry it: breaks become spaces, other control
    characters (NUL, ESC, DEL, C1) are dropped, runs of white space are one space, the ends are trimmed."""
    text = _BREAKS.sub(" ", value or "")
    if not text.isprintable():
        text = "".join(char for char in text if unicodedata.category(char) != "Cc")
    text = _SPACES.sub(" ", text).strip()
    return text[:max_length].rstrip() if max_length is not None else text


def has_nul(value: str | bytes) -> bool:
    """NUL: PostgreSQL text refuses it, so input holding it is refused at the door."""
    return ("\x00" if isinstance(value, str) else b"\x00") in value


def minutes_seconds(seconds) -> str:
    """A call's length as a phone shows it: 4:05, 1:02:09."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
