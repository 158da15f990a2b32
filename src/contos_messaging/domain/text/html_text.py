"""HTML as text: the plain-text alternative of an HTML body, and the cheap visible text the
search index and the snippets use."""

from __future__ import annotations

import re
from html import unescape

__all__ = [
    "has_hidden",
    "html_to_text",
    "in_tag",
    "plain_text_quick",
    "visible_start",
    "visible_text",
]

_BLOCK = "p|div|br|li|tr|h[1-6]|table|ul|ol|blockquote|pre|hr|section|article|header|footer"
_SKIPPED = re.compile(
    r"<!--.*?-->|<(script|style|head|title)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_LINK = re.compile(
    r"""<a\b[^>]*?\bhref\s*=\s*["']((?:https?:|mailto:)[^"']*)["'][^>]*>(.*?)</a\s*>""",
    re.IGNORECASE | re.DOTALL,
)
_ITEM = re.compile(r"<li\b[^>]*>", re.IGNORECASE)
_BLOCK_TAG = re.compile(rf"</?(?:{_BLOCK})\b[^>]*>", re.IGNORECASE)
_CELL_END = re.compile(r"</t[dh]\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_LINE_BREAKS = re.compile(r"\n\s*\n\s*")


def html_to_text(html: str) -> str:
    """Plain-text rendering of an HTML body: scripts, styles and comments dropped, blocks on
    their own lines, list items marked with ``-``, link targets kept after the link text."""
    text = _SKIPPED.sub("", html)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _ITEM.sub("\n- ", text)
    text = _BLOCK_TAG.sub("\n", _CELL_END.sub(" ", text))
    text = unescape(_TAG.sub("", text))
    text = _SPACES.sub(" ", text.replace("\u00a0", " "))
    lines = (line.strip() for line in text.split("\n"))
    return _LINE_BREAKS.sub("\n\n", "\n".join(lines)).strip()


_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)


def visible_start(html: str) -> int:
    """Where the visible part of an HTML document starts (after ``</head>``)."""
    end = html.find("</head>")
    if end >= 0:
        return end + 7
    found = _HEAD_END.search(html)
    return found.end() if found else 0


def plain_text_quick(html: str) -> str:
    """Words of HTML for the search index and for snippets: head, scripts, styles, comments and
    tags dropped, entities decoded. Much cheaper than :func:`html_to_text`, without its line
    layout or link targets."""
    html = html[visible_start(html) :]
    if has_hidden(html, 0):
        html = _SKIPPED.sub(" ", html)
    return visible_text(html)


def visible_text(fragment: str) -> str:
    """A fragment of HTML without head, scripts and styles: tags dropped, entities decoded."""
    text = _TAG.sub(" ", fragment)
    return unescape(text) if "&" in text else text


def has_hidden(html: str, begin: int, end: int | None = None) -> bool:
    """Whether the body (up to ``end``) holds scripts, styles or comments (whose text is not
    shown)."""
    return _HIDDEN_IN_BODY.search(html, begin, len(html) if end is None else end) is not None


# Starts with a literal "<", which the regex engine scans for quickly (unlike IGNORECASE).
_HIDDEN_IN_BODY = re.compile(
    r"<(?:!--|[sS](?:[cC][rR][iI][pP][tT]|[tT][yY][lL][eE])|[tT][iI][tT][lL][eE])"
)


def in_tag(html: str, position: int) -> bool:
    """Whether ``position`` of an HTML text lies inside a tag (between ``<`` and ``>``)."""
    return html.rfind("<", 0, position) > html.rfind(">", 0, position)
