"""Letter runs: a word of letters and then a digit (``svoboda101``, from an address) is also
indexed under the letters it starts with (``svoboda``). A query word those letters hold then
need not expand to every such word (thousands of ``svobodaNNN`` in a large store made one
search of ``svoboda`` take 20 ms): ``Vocabulary.expand`` passes over them, as every document
holding one holds its letter run, a known word the query word starts too."""

from __future__ import annotations

import re

__all__ = ["AFTER_DIGITS", "letter_run", "letter_runs"]

# A word of letters and then an ASCII digit (anything after): ``svoboda101`` from an address.
_LETTERS_THEN_DIGIT = re.compile(r"([^\W\d_]+)[0-9]")
AFTER_DIGITS = ":"  # (the character after "9": words of a run and then a digit sort before it)


def letter_run(word: str) -> str | None:
    """The letters a folded ``word`` starts with when a digit follows them (``svoboda`` for
    ``svoboda101``, also ``s`` for ``s1a``), else None. Such a word is indexed with its letter
    run too, so that ``svoboda`` need not expand to every ``svobodaNNN``."""
    if word.isalpha() or word.isdigit():
        return None
    found = _LETTERS_THEN_DIGIT.match(word)
    return found.group(1) if found else None


def letter_runs(folded: list[str]) -> list[str]:
    """The letter runs of those of ``folded`` that have one, in order."""
    return [run for run in map(letter_run, folded) if run is not None]
