"""Words of folded text: the quick split of ASCII text agrees with the general rule."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from contos_messaging.domain.text import fold, search_words

_ALNUM = re.compile(r"[^\W_]+")


@given(st.text())
def test_words_are_the_runs_of_letters_and_digits_of_the_folded_text(text: str) -> None:
    folded = fold(text)
    assert search_words(folded) == _ALNUM.findall(folded)


@given(st.text())
def test_the_words_of_folded_text_fold_to_themselves(text: str) -> None:
    # A phrase typed as words found in a message folds to those very words, so its word pairs
    # are the message's.
    words = search_words(fold(text))
    assert search_words(fold(" ".join(words))) == words
