"""HTML mail bodies: sanitised HTML for display (nh3) and readable text for the thread.

HTML-only mail is common (Outlook, marketing tools); agents read and search the
text, and the console shows the sanitised HTML. Remote images stay as links only
if an agent opens them; nh3 drops scripts, styles, event handlers and forms.
"""

import re
from html import unescape
from html.parser import HTMLParser

import nh3

BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
          "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt"}
SKIPPED = {"script", "style", "head", "title", "template", "noscript"}
URL_SCHEMES = {"http", "https", "mailto", "cid", "tel"}
_BLANK_LINES = re.compile(r"\n[ \t\u00a0]*(?:\n[ \t\u00a0]*){2,}")
_SPACES = re.compile(r"[ \t\u00a0\r\f\v]+")


class _TextCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skipping += 1
        elif tag in BLOCKS:
            self.parts.append("\n")
        elif tag == "td":
            self.parts.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")

    def handle_endtag(self, tag):
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(_SPACES.sub(" ", data))


def html_to_text(html: str) -> str:
    """The readable text of an HTML body: paragraphs kept, markup and scripts dropped."""
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # HTMLParser is lenient, but a pathological body must not lose the mail
        return unescape(re.sub(r"<[^>]*>", " ", html)).strip()
    text = "".join(collector.parts)
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def sanitise_html(html: str) -> str:
    """HTML safe to show in the console."""
    if not html.strip():
        return ""
    return nh3.clean(html, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow")
