"""A document's fields from the lines the vocabulary remembers are exactly the fields of the
whole text tokenized at once, whatever the text holds and whatever was seen before."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contos_messaging.adapters.tantivy import vocabulary as vocabulary_module
from contos_messaging.adapters.tantivy.letter_runs import letter_runs
from contos_messaging.adapters.tantivy.pairs import LONG_WORD
from contos_messaging.adapters.tantivy.vocabulary import VOCABULARY_FILE, Vocabulary
from contos_messaging.domain.text import words

KEY = bytes(range(32))

# Czech letters, the Latin letters folding treats apart, white space of several kinds, a
# combining mark, letters of other scripts and a Latin letter that is no letter in the fast
# path, digits and punctuation.
_ALPHABET = list("aAáÁčČřŘžůxyz019 \t\n\u00a0\u2003\u3000.,-–_@/\u0301łßǝждαﬁ½™")
_LINE = st.text(st.sampled_from(_ALPHABET), max_size=40)
_TEXT = st.lists(st.one_of(_LINE, st.just("a" * LONG_WORD), st.just("Vyúčtování provizí č.")),
                 max_size=6).map("\n".join)  # fmt: skip


def _reference(vocabulary: Vocabulary, text: str) -> tuple[str, str]:
    """The fields as built before lines were remembered: the whole text at once."""
    found = [w for w in words(text) if len(w) < LONG_WORD]
    tokens = vocabulary.tokens(found)
    runs = vocabulary.tokens(letter_runs(found))  # (after the tokens, in no pair)
    return " ".join(tokens + runs), " ".join(map(str.__add__, tokens, tokens[1:]))


@pytest.fixture
def vocabulary(tmp_path: Path) -> Vocabulary:
    vocabulary = Vocabulary(tmp_path / VOCABULARY_FILE, KEY)
    vocabulary.load()
    return vocabulary


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(_TEXT, min_size=1, max_size=4))
@example(texts=["ǝx\nžena", "ǝx\nжena", "ǝx"])  # a line alone, then beside another script
@example(texts=["a\u0301b c", "a \u0301b"])  # a mark after a letter, and after white space
@example(texts=["č. 12\u00a0345,50\u00a0Kč\nč. 12", "12\u00a0345"])
def test_fields_from_remembered_lines_are_those_of_the_whole_text(
    vocabulary: Vocabulary, texts: list[str]
) -> None:
    for text in [*texts, *texts]:  # the second time, from what was remembered
        assert vocabulary.fields(text) == _reference(vocabulary, text)
        assert vocabulary.fields(text, pairs=False) == (_reference(vocabulary, text)[0], "")


def test_words_dropped_from_the_vocabulary_come_back_with_a_line_seen_before(
    vocabulary: Vocabulary,
) -> None:
    vocabulary.fields("rakovina prsu\nkonec")
    kept = vocabulary.token_of("konec")
    assert vocabulary.keep_only(lambda token: token == kept) == 2
    assert vocabulary.expand("rak", None) == []
    text, _pairs = vocabulary.fields("rakovina prsu\nkonec")
    assert text.split() == [vocabulary.token_of(w) for w in ("rakovina", "prsu", "konec")]
    assert [word for word, _ in vocabulary.expand("", None)] == ["konec", "prsu", "rakovina"]
    vocabulary.flush()
    reread = Vocabulary(vocabulary._path, KEY)
    reread.load()
    assert len(reread) == 3


def test_the_lines_remembered_stay_within_their_bound(
    vocabulary: Vocabulary, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vocabulary_module, "_LINES_CHARS", 200)
    for n in range(100):
        text = f"Smlouva S-{n} ze dne {n}. 1. 2020\nPoložka {n}\n{'dlouhy ' * 200}"
        assert vocabulary.fields(text) == _reference(vocabulary, text)
        assert vocabulary._lines_chars <= 200
        assert sum(map(len, vocabulary._lines)) <= 200  # (longer lines are never kept)
