"""Every catalogue in locale/ is complete: each source string translated, none fuzzy."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ["sv", "es", "de", "zh_Hans", "ja"]
PY_KEYWORDS = {"_": None, "gettext": None, "gettext_lazy": None, "ngettext": (1, 2),
               "ngettext_lazy": (1, 2), "pgettext": ((1, "c"), 2), "pgettext_lazy": ((1, "c"), 2)}
TEMPLATE_TAG = re.compile(r'{%\s*(?:translate|trans)\s+"((?:[^"\\]|\\.)*)"')
TEMPLATE_BLOCK = re.compile(
    r"{%\s*blocktrans(?:late)?(?: [^%]*)?%}(.*?){%\s*endblocktrans(?:late)?\s*%}", re.S)


def source_messages() -> set[str]:
    found = set()
    for folder in ("apps", "supportdesk"):
        for _f, _l, message, _c, _ctx in extract_from_dir(
                ROOT / folder, method_map=[("**/migrations/**", "ignore"), ("**/tests/**", "ignore"),
                                           ("**.py", "python")], keywords=PY_KEYWORDS):
            found.add(message[0] if isinstance(message, tuple) else message)
    for template in [*ROOT.glob("**/templates/**/*.html"), *ROOT.glob("**/templates/**/*.txt")]:
        if ".venv" in template.parts:
            continue
        text = template.read_text()
        found.update(m.replace('\\"', '"') for m in TEMPLATE_TAG.findall(text))
        found.update(re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", m) for m in TEMPLATE_BLOCK.findall(text))
    return {message for message in found if message}


def catalogue(locale: str):
    with open(ROOT / "locale" / locale / "LC_MESSAGES" / "django.po", "rb") as handle:
        return read_po(handle, locale=locale.replace("zh_Hans", "zh_Hans_CN"))


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_has_no_untranslated_or_fuzzy_entry(locale):
    entries = [m for m in catalogue(locale) if m.id]
    untranslated = [m.id for m in entries
                    if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert not untranslated, f"{locale}: untranslated {untranslated[:10]}"
    assert not fuzzy, f"{locale}: fuzzy {fuzzy[:10]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_covers_every_string_in_the_source(locale):
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalogue(locale)}
    missing = sorted(source_messages() - ids)
    assert not missing, f"{locale}: {len(missing)} strings missing, e.g. {missing[:10]}"


def test_the_extractor_finds_strings_in_code_and_templates():
    messages = source_messages()
    assert "Unsupported language %(language)s." in messages
    assert "Sign in" in messages
