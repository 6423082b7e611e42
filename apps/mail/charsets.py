"""Turn the bytes of a mail part into text whatever its label says; never raise.

Mail in the wild is labelled with the charset's old name (``gb2312`` for what is
really GBK, ``iso-8859-1`` for windows-1252, ``ks_c_5601-1987`` for CP949),
mislabelled (UTF-8 sent as ``us-ascii``), or labelled with nonsense. Like the
WHATWG encoding standard we decode with the superset a label has come to mean,
and fall back to strict UTF-8, then to charset-normalizer's guess, then to a
replacing decode, so a wrong label costs at most some replacement characters.
"""

import codecs
import re

from charset_normalizer import from_bytes

# label -> codecs to try in order (supersets first: what senders really use).
SUPERSETS: dict[str, tuple[str, ...]] = {
    "us-ascii": ("ascii", "utf-8", "cp1252"),
    "ascii": ("ascii", "utf-8", "cp1252"),
    "iso-8859-1": ("cp1252", "latin-1"),
    "latin1": ("cp1252", "latin-1"),
    "iso-8859-9": ("cp1254", "iso8859-9"),
    "iso-8859-11": ("cp874", "iso8859-11"),
    "tis-620": ("cp874",),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "x-gbk": ("gb18030",),
    "cp936": ("gb18030",),
    "euc-cn": ("gb18030",),
    "hz-gb-2312": ("hz", "gb18030"),
    "big5": ("big5hkscs", "cp950"),
    "big5-hkscs": ("big5hkscs",),
    "cn-big5": ("big5hkscs",),
    "x-x-big5": ("big5hkscs",),
    "euc-kr": ("cp949",),
    "ks_c_5601-1987": ("cp949",),
    "ks_c_5601": ("cp949",),
    "korean": ("cp949",),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "shift-jis": ("cp932", "shift_jis_2004"),
    "sjis": ("cp932",),
    "x-sjis": ("cp932",),
    "ms_kanji": ("cp932",),
    "windows-31j": ("cp932",),
    "euc-jp": ("euc_jis_2004", "euc_jp", "cp932"),
    "x-euc-jp": ("euc_jis_2004", "euc_jp"),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004"),
    "csiso2022jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2"),
    "iso-2022-jp-2": ("iso2022_jp_2", "iso2022_jp_2004"),
    "iso-2022-kr": ("iso2022_kr",),
    "unicode-1-1-utf-7": ("utf-7",),
    "utf-7": ("utf-7",),
    "utf8": ("utf-8",),
    "uft-8": ("utf-8",),
    "utf-16": ("utf-16",),
    "x-mac-cyrillic": ("mac-cyrillic",),
    "x-mac-roman": ("mac-roman",),
    "macintosh": ("mac-roman",),
    "x-user-defined": ("cp1252",),
}

SINGLE_BYTE = {"ascii", "cp1252", "latin-1", "cp1254", "iso8859-9", "cp874", "iso8859-11", "mac-roman"}
_LABEL_JUNK = re.compile(r"[^a-z0-9_.:-]")
_CHARSET_RE = re.compile(r"^[a-z0-9][a-z0-9_.:-]*")


def _codec_name(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def candidate_codecs(label: str | None) -> list[str]:
    """The codecs a charset label may mean, most likely first; empty when unknown."""
    raw = (label or "").strip().strip("\"'").lower()
    raw = raw.removeprefix("3d")  # a quoted-printable "=3D" left in a header
    cleaned = _LABEL_JUNK.sub("", raw).strip("_-.")
    match = _CHARSET_RE.match(cleaned)
    cleaned = match.group(0) if match else ""
    names = list(SUPERSETS.get(cleaned, ()))
    if not names and cleaned:
        codec = _codec_name(cleaned)
        if codec:
            # Aliases ("latin1", "iso_8859-1", "ascii", "gbk") mean what their canonical label means.
            names = list(SUPERSETS.get({"latin-1": "iso-8859-1", "iso8859-1": "iso-8859-1"}.get(codec, codec),
                                       (codec,)))
    if not names and cleaned:
        # "_iso-2022-jp$esc" and friends: a known label with junk around it (longest first).
        for known in sorted(SUPERSETS, key=len, reverse=True):
            if len(known) > 4 and known in cleaned:
                names = list(SUPERSETS[known])
                break
    result = []
    for name in names:
        codec = _codec_name(name)
        if codec and codec not in result:
            result.append(codec)
    return result


def _looks_like_utf8(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _guess(data: bytes) -> str | None:
    """charset-normalizer's best decode, or None when it has no opinion."""
    try:
        best = from_bytes(data[:65536]).best()
    except Exception:  # a detector bug must not lose the message
        return None
    if best is None:
        return None
    try:
        return data.decode(best.encoding, errors="replace")
    except (LookupError, ValueError):
        return None


def clean_text(text: str) -> str:
    """Text safe for PostgreSQL: no NUL characters and no lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Decode a part's bytes by its label, repairing wrong and unknown labels."""
    if not data:
        return ""
    candidates = candidate_codecs(label)
    if candidates and candidates[0] in SINGLE_BYTE and _looks_like_utf8(data):
        # UTF-8 labelled as Latin-1 or ASCII: the commonest mislabel.
        return clean_text(data.decode("utf-8"))
    for codec in candidates:
        try:
            return clean_text(data.decode(codec))
        except (UnicodeDecodeError, LookupError, ValueError):
            continue
    if candidates:
        # A few broken bytes in otherwise well-labelled text: keep the label, lose only those bytes.
        text = data.decode(candidates[0], errors="replace")
        if text.count("\ufffd") <= max(1, len(text) // 200):
            return clean_text(text)
    if data.isascii() and b"\x1b" not in data:
        return clean_text(data.decode("ascii"))
    if _looks_like_utf8(data):
        return clean_text(data.decode("utf-8"))
    if b"\x1b$" in data or b"\x1b(" in data:
        # Unlabelled JIS escapes: ISO-2022-JP by construction.
        for codec in ("iso2022_jp_ext", "iso2022_jp_2"):
            try:
                return clean_text(data.decode(codec))
            except UnicodeDecodeError:
                continue
    guessed = _guess(data)
    if guessed is not None:
        return clean_text(guessed)
    codec = candidates[0] if candidates else "utf-8"
    return clean_text(data.decode(codec, errors="replace"))
