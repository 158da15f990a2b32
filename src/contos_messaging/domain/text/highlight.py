"""Highlighting: short extracts of plain or HTML texts around the first matching word, as safe
HTML with the matching words in ``<mark>``."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from html import escape

from contos_messaging.domain.text.folding import fold
from contos_messaging.domain.text.html_text import (
    has_hidden,
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
    """A regular expression matching ``term`` (folded) in any case and with any diacritics."""
    classes = _letter_classes()
    return "".join(f"[{re.escape(classes[c])}]" if c in classes else re.escape(c) for c in term)


# Compiling a term's pattern takes most of a millisecond (a character class for each letter):
# compiled ones are remembered, as users search the same words again and again.
_COMPILED: dict[tuple[str, ...], re.Pattern[str]] = {}
_REMEMBERED = 4096
_REST = r"[^\W_]*"  # the rest of the word a match starts


def _compiled(key: tuple[str, ...], source: Callable[[], str]) -> re.Pattern[str]:
    pattern = _COMPILED.get(key)
    if pattern is None:
        if len(_COMPILED) >= _REMEMBERED:
            _COMPILED.clear()
        pattern = _COMPILED[key] = re.compile(source())
    return pattern


def _anywhere(term: str) -> re.Pattern[str]:
    """``term`` anywhere (a pattern starting with a character class: scanned quickly)."""
    return _compiled(("anywhere", term), lambda: _term_pattern(term))


def _at_word_start(term: str) -> re.Pattern[str]:
    """``term`` at the start of a word only (slower to scan, so used only after
    :func:`_anywhere` found it inside a word first)."""
    return _compiled(("word start", term), lambda: r"(?<![^\W_])" + _term_pattern(term))


def _marks(words: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``words`` and the rest of the word it starts (one scan marks them all)."""
    return _compiled(
        ("marks", *words), lambda: "(?:" + "|".join(map(_term_pattern, words)) + ")" + _REST
    )


# What :meth:`Highlighter.cost` counts for a pattern still to compile (as many characters,
# times words, as take as long to scan).
_COMPILE_COST = 100_000


def _word_start(text: str, position: int) -> bool:
    return position == 0 or not text[position - 1].isalnum()


def _first_of(term: str, text: str, begin: int, end: int, *, html: bool) -> int | None:
    """Where ``term`` first starts a word in ``text[begin:end]`` (outside tags, for HTML,
    where ``begin`` is outside any tag). A bounded number of scans, each of the text not
    scanned before: linear in the text whatever it holds."""
    found = _anywhere(term).search(text, begin, end)
    if found is not None and not _word_start(text, found.start()):
        found = _at_word_start(term).search(text, found.start() + 1, end)
    while found is not None and html:
        at = found.start()
        if text.rfind("<", begin, at) <= text.rfind(">", begin, at):
            break  # not inside a tag: no tag opened since begin, or it closed again
        close = text.find(">", at)  # past the tag holding the match
        if close < 0 or close >= end:
            return None
        begin = close + 1
        found = _at_word_start(term).search(text, begin, end)
    return None if found is None else found.start()


class Highlighter:
    """Short extracts of texts around the first word that starts with one of the folded
    ``words`` (any case, any diacritics), as safe HTML: everything escaped, matching words in
    ``<mark>``. Build one per query, apply it to every hit; HTML bodies are searched in place
    and only a window around the first match is turned into text. The work is linear in the
    number of words times the length of the text."""

    def __init__(self, words: list[str], *, width: int = 200) -> None:
        self._width = width
        self._words = list(dict.fromkeys(words))

    def cost(self, lengths: Iterable[int]) -> int:
        """A measure of the work of extracts of texts of these ``lengths``, at worst: the
        characters scanned times the words, and the patterns still to compile (each counted
        as the characters scanned in the time it takes). 10 - 20 ns a unit: what a caller
        needs to decide whether to run it on a thread of its own."""
        words = self._words
        scanned = sum(lengths) * max(len(words), 1)
        missing = sum(("anywhere", w) not in _COMPILED for w in words)
        if ("marks", *words) not in _COMPILED:
            missing += len(words)
        return scanned + missing * _COMPILE_COST

    def _first(self, text: str, begin: int, *, html: bool) -> int | None:
        """Position of the earliest word (in visible text, for HTML) starting with a term."""
        best: int | None = None
        for word in self._words:
            found = _first_of(word, text, begin, len(text) if best is None else best, html=html)
            if found is not None:
                best = found
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
        if self._words:
            shown = _marks(tuple(self._words)).sub(_mark, shown)
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
