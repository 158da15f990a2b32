"""Folding for diacritic-insensitive matching: ``Dvořák`` -> ``dvorak``, as the search index
folds what it stores and what is searched."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "fold_part"]

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
    return fold_part(text)[0]


def fold_part(text: str) -> tuple[str, bool]:
    """:func:`fold` of ``text``, and whether it holds letters of another script than Latin.

    Without such letters each line of a text folds on its own as it does within the whole text
    (each character folds on its own, but for the order of accents on one letter, which a line
    break never separates), so a text can be folded line by line; with them, how some Latin
    characters fold depends on the whole text (they stay letters instead of becoming spaces),
    so the text must be folded whole."""
    folded = text.casefold()
    if folded.isascii():
        return folded, False
    decomposed = unicodedata.normalize("NFKD", folded)
    # (Compatibility decomposition can give capitals back: mathematical letters, for one.)
    if _NON_LATIN_LETTER.search(folded) is None:
        ascii_ = _NOT_ASCII_NOR_MARK.sub(_ascii_for, decomposed).encode("ascii", "ignore")
        return ascii_.decode().lower(), False
    return decomposed.translate(_OTHER_SCRIPTS).casefold(), True
