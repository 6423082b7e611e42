"""Which of the desk's six languages a mail is written in.

``Content-Language`` wins when it names one of the six; otherwise lingua guesses,
restricted to the six so a Norwegian mail is read by the Swedish desk rather than
filed under a language nobody serves. A guess it is unsure of returns None and
the mailbox's default applies.
"""

from functools import lru_cache

from apps.policy.languages import normalise_language

# Below this lingua's confidence in its best guess we prefer the mailbox default.
MIN_CONFIDENCE = 0.5
SAMPLE_CHARS = 2000
MIN_LETTERS = 12


@lru_cache(maxsize=1)
def detector():
    # All six models load here (about a second), once per process: a process that forks
    # parsing workers loads them before forking, and the workers share them.
    from lingua import Language, LanguageDetectorBuilder

    codes = {Language.ENGLISH: "en", Language.SWEDISH: "sv", Language.SPANISH: "es",
             Language.GERMAN: "de", Language.CHINESE: "zh-hans", Language.JAPANESE: "ja"}
    return LanguageDetectorBuilder.from_languages(*codes).with_preloaded_language_models().build(), codes


def from_header(value: str) -> str | None:
    """The first of the six languages named in a Content-Language header."""
    for tag in (value or "").replace(";", ",").split(","):
        try:
            return normalise_language(tag.strip())
        except ValueError:
            continue
    return None


def detect(text: str) -> str | None:
    """The six-language guess for a body, or None when the text is too short or ambiguous."""
    sample = (text or "")[:SAMPLE_CHARS]
    # An ideograph or kana says about as much as a short word.
    weight = sum(3 if ord(ch) >= 0x3000 else 1 for ch in sample if ch.isalpha())
    if weight < MIN_LETTERS:
        return None
    model, codes = detector()
    values = model.compute_language_confidence_values(sample)
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    return codes.get(values[0].language)


def language_of(*, content_language: str, text: str, default: str | None) -> str | None:
    return from_header(content_language) or detect(text) or default
