"""Words of folded text: the quick split of ASCII text agrees with the general rule; the
highlighter's scans agree with the plain rule of what it marks."""

from __future__ import annotations

import re
from html import escape

from hypothesis import example, given
from hypothesis import strategies as st

from contos_messaging.domain.text import Highlighter, fold, search_words
from contos_messaging.domain.text.highlight import _term_pattern
from contos_messaging.domain.text.html_text import in_tag

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


# Highlighting: the scans that find the first match and the marks agree with the plain rule,
# position by position, whatever the text holds (words inside words, tags, entities).
_TEXT = st.text(st.sampled_from(list("aAáÁÅbBčČrŘř1x _<>&#;=\"'")), max_size=80)
_TERMS = st.lists(st.text(st.sampled_from(list("abcrx1")), min_size=1, max_size=3), min_size=1,
                  max_size=4)  # fmt: skip


def _first_by_rule(terms: list[str], text: str, *, html: bool) -> int | None:
    """The earliest position where a term matches, at a word start (outside a tag)."""
    for at in range(len(text)):
        if at and text[at - 1].isalnum():
            continue
        if html and in_tag(text, at):
            continue
        if any(re.compile(_term_pattern(t)).match(text, at) for t in terms):
            return at
    return None


@given(_TERMS, _TEXT, st.booleans())
@example(["a"], '<a href="a">ba</a> a', True)
@example(["r", "x"], "<p title='r x'>ar xr</p> <x> r", True)
@example(["b"], "abab <b b b b> b", True)
@example(["a"], "<" + "a " * 30, True)
def test_the_first_match_is_the_earliest_word_start_outside_tags(
    terms: list[str], text: str, html: bool
) -> None:
    assert Highlighter(terms)._first(text, 0, html=html) == _first_by_rule(terms, text, html=html)


def _marked_by_rule(shown: str, terms: list[str]) -> str:
    marks = re.compile("(?:" + "|".join(_term_pattern(t) for t in terms) + r")[^\W_]*")

    def mark(match: re.Match[str]) -> str:
        at = match.start()
        before = shown[at - 1] if at else ""
        if before.isalnum() or before == "&" or (before == "#" and shown[at - 2 : at] == "&#"):
            return match.group()
        return f"<mark>{match.group()}</mark>"

    return marks.sub(mark, shown)


@given(_TERMS, _TEXT)
@example(["a", "x2", "qu", "l", "g", "r"], 'R&D <tag> "citace" it\'s #r &a a&a')
@example(["a", "ab"], "ab abc a_b bab")
def test_a_short_text_is_shown_whole_with_the_words_that_start_with_a_term_marked(
    terms: list[str], text: str
) -> None:
    shown = escape(" ".join(text.split()))
    assert Highlighter(terms).text(text) == _marked_by_rule(shown, terms)
