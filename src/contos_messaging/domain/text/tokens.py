"""Words: how text (and a user's search input) is split into the folded words the search index
holds and looks for."""

from __future__ import annotations

import re

from contos_messaging.domain.text.folding import fold

__all__ = ["search_phrases", "search_terms", "search_words", "words"]

_ALNUM = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Folded words of ``text`` (runs of letters and digits), as the search index splits it."""
    return search_words(fold(text))


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
