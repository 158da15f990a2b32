"""Text helpers: HTML to plain text, folding for diacritic-insensitive matching."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from html import escape, unescape

__all__ = [
    "fold",
    "highlighter",
    "html_to_text",
    "plain_text_quick",
    "search_phrases",
    "search_terms",
    "words",
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
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_ALNUM = re.compile(r"[^\W_]+")


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


_COMBINING = dict.fromkeys(range(0x300, 0x370))
_NON_LATIN_LETTER = re.compile(r"[^\W\d_\u0000-\u024f]")


def fold(text: str) -> str:
    """Lower-case and strip diacritics: ``Dvořák`` -> ``dvorak``. Letters of other scripts
    stay (without their marks); typographic punctuation outside ASCII may be dropped."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    if _NON_LATIN_LETTER.search(folded) is None:
        return decomposed.encode("ascii", "ignore").decode("ascii")
    return decomposed.translate(_COMBINING)


def words(text: str) -> list[str]:
    """Folded words of ``text``."""
    return _WORD_RE.findall(fold(text))


def _letter_classes() -> dict[str, str]:
    classes: dict[str, set[str]] = {}
    for code in range(0x41, 0x17F):
        ch = chr(code)
        base = fold(ch)
        if ch.isalpha() and len(base) == 1 and base.isascii():
            classes.setdefault(base, {base, base.upper()}).add(ch)
    return {base: "".join(sorted(chars)) for base, chars in classes.items()}


_LETTER_CLASSES = _letter_classes()


def _term_pattern(term: str) -> str:
    return "".join(
        f"[{re.escape(_LETTER_CLASSES[c])}]" if c in _LETTER_CLASSES else re.escape(c) for c in term
    )


def plain_text_quick(html: str) -> str:
    """Text of HTML for display snippets: scripts, styles and tags dropped, entities decoded
    (cheaper than :func:`html_to_text`, without its line layout)."""
    lowered = html.lower()
    if "<script" in lowered or "<style" in lowered or "<head" in lowered or "<!--" in html:
        html = _SKIPPED.sub("", html)
    return unescape(_TAG.sub(" ", html))


def highlighter(words: list[str], *, width: int = 200) -> Callable[[str], str]:
    """A function that turns a text into a short extract around the first word that starts
    with one of the folded ``words`` (any case, any diacritics), as safe HTML: everything
    escaped, matching words in ``<mark>``. Build it once per query, apply it to every hit."""
    pattern = (
        re.compile(r"\b(?:" + "|".join(_term_pattern(w) for w in words) + r")[^\W_]*")
        if words
        else None
    )

    def extract(text: str) -> str:
        if not text:
            return ""
        first = pattern.search(text) if pattern is not None else None
        centre = first.start() if first else 0
        start = max(0, centre - width // 3)
        if start:
            space = text.rfind(" ", 0, start)
            start = space + 1 if space >= 0 and start - space < 20 else start
        end = min(len(text), start + width)
        parts: list[str] = ["…" if start else ""]
        position = start
        if pattern is not None and first is not None:
            for match in pattern.finditer(text, start, end):
                parts.append(escape(text[position : match.start()]))
                parts.append(f"<mark>{escape(match.group())}</mark>")
                position = match.end()
        parts.append(escape(text[position:end]))
        parts.append("…" if end < len(text) else "")
        return " ".join("".join(parts).split())

    return extract


def search_terms(text: str) -> list[str]:
    """The words of user search input, folded, without duplicates.

    Quotes, colons, parentheses, ``AND``, ``+`` and ``/`` are not operators: every word the user
    typed is kept and must match (``č. 2024/0815`` looks for ``c``, ``2024`` and ``0815``).
    """
    return list(dict.fromkeys(_ALNUM.findall(fold(text))))


_QUOTED = re.compile(r'"([^"]*)"')


def search_phrases(text: str) -> list[list[str]]:
    """Phrases the user put in double quotes, as lists of folded words (two or more words:
    a single quoted word is an ordinary term)."""
    phrases = [search_terms(part) for part in _QUOTED.findall(text)]
    return [p for p in phrases if len(p) >= 2]
