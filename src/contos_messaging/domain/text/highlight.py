"""Highlighting: short extracts of plain or HTML texts around the first matching word, as safe
HTML with the matching words in ``<mark>``."""

from __future__ import annotations

import functools
import re
from html import escape

from contos_messaging.domain.text.folding import fold
from contos_messaging.domain.text.html_text import (
    has_hidden,
    in_tag,
    plain_text_quick,
    visible_start,
    visible_text,
)

__all__ = ["Highlighter"]


@functools.cache
def _letter_classes() -> dict[str, str]:
    """For each ASCII letter, the Latin letters that fold to it (both cases)."""
    classes: dict[str, set[str]] = {}
    for code in range(0x41, 0x17F):
        ch = chr(code)
        base = fold(ch)
        if ch.isalpha() and len(base) == 1 and base.isascii():
            classes.setdefault(base, {base, base.upper()}).add(ch)
    return {base: "".join(sorted(chars)) for base, chars in classes.items()}


@functools.lru_cache(maxsize=4096)
def _term_pattern(term: str) -> str:
    """A regular expression matching ``term`` (folded) in any case and with any diacritics;
    remembered, as users search the same words again and again."""
    classes = _letter_classes()
    return "".join(f"[{re.escape(classes[c])}]" if c in classes else re.escape(c) for c in term)


def _word_start(text: str, position: int) -> bool:
    return position == 0 or not text[position - 1].isalnum()


class Highlighter:
    """Short extracts of texts around the first word that starts with one of the folded
    ``words`` (any case, any diacritics), as safe HTML: everything escaped, matching words in
    ``<mark>``. Build one per query, apply it to every hit; HTML bodies are searched in place
    and only a window around the first match is turned into text."""

    def __init__(self, words: list[str], *, width: int = 200) -> None:
        self._width = width
        self._starts = [re.compile(_term_pattern(w)) for w in words]
        # Word starts are checked by _mark (a pattern starting with a character class is
        # scanned much faster than one starting with an assertion).
        self._marks = (
            re.compile("(?:" + "|".join(_term_pattern(w) for w in words) + r")[^\W_]*")
            if words
            else None
        )

    def _first(self, text: str, begin: int, *, html: bool) -> int | None:
        """Position of the earliest word (in visible text, for HTML) starting with a term."""
        best: int | None = None
        for pattern in self._starts:
            position = begin
            while (
                found := pattern.search(text, position, best if best is not None else len(text))
            ) is not None:
                at = found.start()
                if _word_start(text, at) and not (html and in_tag(text, at)):
                    best = at
                    break
                position = at + 1
        return best

    def text(self, text: str) -> str:
        """Extract of a plain text."""
        if not text:
            return ""
        first = self._first(text, 0, html=False)
        centre = 0 if first is None else first
        low = max(0, centre - self._width)
        high = min(len(text), centre + 2 * self._width)
        shown, at = _normalised(text[low:centre], text[centre:high])
        return self._extract(shown, at if first is not None else 0, low > 0, high < len(text))

    def html(self, html: str) -> str:
        """Extract of the visible text of an HTML body."""
        if not html:
            return ""
        begin = visible_start(html)
        first = self._first(html, begin, html=True)
        centre = begin if first is None else first
        low = max(begin, centre - int(1.25 * self._width))
        high = min(len(html), centre + int(2.5 * self._width))
        if has_hidden(html, begin, high):
            # Scripts, styles or comments before the end of the extract (the match may even be
            # inside one): the slow path. What comes after the extract does not matter.
            return self.text(plain_text_quick(html))
        before, after = html[low:centre], html[centre:high]
        if low > begin:  # do not start inside a tag
            close, open_ = before.find(">"), before.find("<")
            if close >= 0 and (open_ < 0 or close < open_):
                before = before[close + 1 :]
        if high < len(html):  # nor end inside one
            open_ = after.rfind("<")
            if open_ > after.rfind(">"):
                after = after[:open_]
        # The match starts outside any tag, so it is where the text of the first half ends.
        shown, at = _normalised(visible_text(before + _CENTRE + after), None)
        return self._extract(shown, at if first is not None else 0, low > begin,
                             high < len(html))  # fmt: skip

    def _extract(self, text: str, centre: int, cut_before: bool, cut_after: bool) -> str:
        """Up to ``width`` characters of ``text`` (single-spaced) from a little before
        ``centre``, escaped, with the matching words marked."""
        width = self._width
        start = max(0, centre - width // 3)
        if start:
            space = text.rfind(" ", 0, start)
            start = space + 1 if space >= 0 and start - space < 20 else start
        end = min(len(text), start + width)
        # Escaping leaves letters and digits alone, so the words are marked in the escaped text
        # (never inside the entities escaping made: see _marks).
        shown = escape(text[start:end].strip())
        if self._marks is not None:
            shown = self._marks.sub(_mark, shown)
        lead = "…" if start or cut_before else ""
        tail = "…" if end < len(text) or cut_after else ""
        return f"{lead}{shown}{tail}"


_CENTRE = "\x00"  # never in a stored text (the domain rejects NUL)


def _normalised(before: str, after: str | None) -> tuple[str, int]:
    """``before + after`` with runs of white space made single spaces (and none at the ends),
    and where ``after`` starts in the result. With ``after`` None, ``before`` holds the
    :data:`_CENTRE` marker instead."""
    joined = " ".join((before if after is None else before + _CENTRE + after).split())
    at = joined.find(_CENTRE)
    if at < 0:  # defensive: the marker is always there
        return joined, 0
    return joined[:at] + joined[at + 1 :], at


def _mark(match: re.Match[str]) -> str:
    """``<mark>`` around a word that starts with a query term, in escaped text: not in the
    middle of a word, nor the name or number of an entity (``&amp;``, ``&#x27;``)."""
    text, at = match.string, match.start()
    before = text[at - 1] if at else ""
    if before.isalnum() or before == "&" or (before == "#" and text[at - 2 : at] == "&#"):
        return match.group()
    return f"<mark>{match.group()}</mark>"
