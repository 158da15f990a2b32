"""Text helpers: HTML to plain text, folding for diacritic-insensitive matching."""

from __future__ import annotations

import re
import unicodedata
from html import escape, unescape

__all__ = ["fold", "html_to_text", "search_terms", "snippet", "words"]

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


def snippet(text: str, words: list[str], *, width: int = 200) -> str:
    """A short extract of ``text`` around the first word that starts with one of the folded
    ``words``, as safe HTML: everything escaped, matching words in ``<mark>``."""
    if not text:
        return ""
    found = [(m.start(), m.end()) for m in _ALNUM.finditer(text)
             if any(fold(m.group()).startswith(w) for w in words)] if words else []  # fmt: skip
    centre = found[0][0] if found else 0
    start = max(0, centre - width // 3)
    if start:
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(text), start + width)
    parts: list[str] = ["…" if start else ""]
    position = start
    for begin, finish in found:
        if begin < start or finish > end:
            continue
        parts.append(escape(text[position:begin]))
        parts.append(f"<mark>{escape(text[begin:finish])}</mark>")
        position = finish
    parts.append(escape(text[position:end]))
    parts.append("…" if end < len(text) else "")
    return " ".join("".join(parts).split())


def search_terms(text: str, *, limit: int = 16) -> list[str]:
    """The words of user search input, folded, without duplicates, at most ``limit``.

    Quotes, colons, parentheses, ``AND``, ``+`` and ``/`` are not operators: every word the user
    typed is kept and must match (``č. 2024/0815`` looks for ``c``, ``2024`` and ``0815``).
    """
    return list(dict.fromkeys(_ALNUM.findall(fold(text))))[:limit]
