"""Text helpers: HTML to plain text, folding for diacritic-insensitive matching."""

from __future__ import annotations

import functools
import re
import unicodedata
from html import escape, unescape

__all__ = [
    "Highlighter",
    "fold",
    "html_to_text",
    "plain_text_quick",
    "search_phrases",
    "search_terms",
    "search_words",
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
# Latin letters that Unicode does not decompose into a base letter and a mark.
_LATIN_SPECIAL = {"ł": "l", "đ": "d", "ø": "o", "ħ": "h", "ı": "i", "ŧ": "t", "ŀ": "l",
                  "æ": "ae", "œ": "oe", "ð": "d", "þ": "th", "ŋ": "n", "ĸ": "k"}  # fmt: skip
# After decomposition: what is neither ASCII nor a combining mark (letters above, then dashes,
# typographic quotes, symbols: word separators, as the index's tokenizer treats them).
_NOT_ASCII_NOR_MARK = re.compile(r"[^\x00-\x7f\u0300-\u036f]")


# For text with letters of other scripts: marks dropped, the Latin letters above folded.
_OTHER_SCRIPTS = {**_COMBINING, **{ord(k): v for k, v in _LATIN_SPECIAL.items()}}


def _ascii_for(match: re.Match[str]) -> str:
    return _LATIN_SPECIAL.get(match.group(), " ")


def fold(text: str) -> str:
    """Lower-case and strip diacritics: ``Dvořák`` -> ``dvorak``. Letters of other scripts
    stay (without their marks); other characters outside ASCII (en dashes, typographic quotes,
    symbols) become spaces, so they separate words as the index's tokenizer does."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    # (Compatibility decomposition can give capitals back: mathematical letters, for one.)
    if _NON_LATIN_LETTER.search(folded) is None:
        ascii_ = _NOT_ASCII_NOR_MARK.sub(_ascii_for, decomposed).encode("ascii", "ignore")
        return ascii_.decode().lower()
    return decomposed.translate(_OTHER_SCRIPTS).casefold()


def words(text: str) -> list[str]:
    """Folded words of ``text`` (runs of letters and digits), as the search index splits it."""
    return search_words(fold(text))


def _letter_classes() -> dict[str, str]:
    classes: dict[str, set[str]] = {}
    for code in range(0x41, 0x17F):
        ch = chr(code)
        base = fold(ch)
        if ch.isalpha() and len(base) == 1 and base.isascii():
            classes.setdefault(base, {base, base.upper()}).add(ch)
    return {base: "".join(sorted(chars)) for base, chars in classes.items()}


_LETTER_CLASSES = _letter_classes()


@functools.lru_cache(maxsize=4096)
def _term_pattern(term: str) -> str:
    """A regular expression matching ``term`` (folded) in any case and with any diacritics;
    remembered, as users search the same words again and again."""
    return "".join(
        f"[{re.escape(_LETTER_CLASSES[c])}]" if c in _LETTER_CLASSES else re.escape(c) for c in term
    )


_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)


def _visible_start(html: str) -> int:
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
    html = html[_visible_start(html) :]
    if _has_hidden(html, 0):
        html = _SKIPPED.sub(" ", html)
    return _visible_text(html)


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
                if _word_start(text, at) and not (html and _in_tag(text, at)):
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
        begin = _visible_start(html)
        first = self._first(html, begin, html=True)
        centre = begin if first is None else first
        low = max(begin, centre - int(1.25 * self._width))
        high = min(len(html), centre + int(2.5 * self._width))
        if _has_hidden(html, begin, high):
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
        shown, at = _normalised(_visible_text(before + _CENTRE + after), None)
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


def _visible_text(fragment: str) -> str:
    """A fragment of HTML without head, scripts and styles: tags dropped, entities decoded."""
    text = _TAG.sub(" ", fragment)
    return unescape(text) if "&" in text else text


def _has_hidden(html: str, begin: int, end: int | None = None) -> bool:
    """Whether the body (up to ``end``) holds scripts, styles or comments (whose text is not
    shown)."""
    return _HIDDEN_IN_BODY.search(html, begin, len(html) if end is None else end) is not None


# Starts with a literal "<", which the regex engine scans for quickly (unlike IGNORECASE).
_HIDDEN_IN_BODY = re.compile(
    r"<(?:!--|[sS](?:[cC][rR][iI][pP][tT]|[tT][yY][lL][eE])|[tT][iI][tT][lL][eE])"
)


def _in_tag(html: str, position: int) -> bool:
    """Whether ``position`` of an HTML text lies inside a tag (between ``<`` and ``>``)."""
    return html.rfind("<", 0, position) > html.rfind(">", 0, position)


# Letters and digits kept, anything else of ASCII a space: words of an ASCII text by split().
_ASCII_SEPARATORS = "".join(ch if ch.isalnum() else " " for ch in map(chr, range(128)))


def search_words(folded: str) -> list[str]:
    """The words (runs of letters and digits) of a folded text, in order, as the search index
    splits text."""
    if folded.isascii():
        return folded.translate(_ASCII_SEPARATORS).split()
    return _ALNUM.findall(folded)


def search_terms(text: str) -> list[str]:
    """The words of user search input, folded, without duplicates.

    Quotes, colons, parentheses, ``AND``, ``+`` and ``/`` are not operators: every word the user
    typed is kept and must match (``č. 2024/0815`` looks for ``c``, ``2024`` and ``0815``).
    """
    return list(dict.fromkeys(words(text)))


_QUOTED = re.compile(r'"([^"]*)"')


def search_phrases(text: str) -> list[list[str]]:
    """Phrases the user put in double quotes, as lists of folded words in their order, a word
    repeated as often as it was typed (two or more words: a single quoted word is an ordinary
    term)."""
    phrases = [words(part) for part in _QUOTED.findall(text)]
    return [p for p in phrases if len(p) >= 2]
