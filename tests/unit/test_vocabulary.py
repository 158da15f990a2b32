"""The keyed vocabulary of the search index: tokens under a key, the sealed word file, and the
documents built from them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from contos_messaging.adapters.tantivy.schema import build_document
from contos_messaging.adapters.tantivy.vocabulary import (
    VOCABULARY_FILE,
    Vocabulary,
    VocabularyDamaged,
    key_check,
    search_key,
)
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, MessageStatus
from contos_messaging.ports.search import SearchDocument

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def _vocabulary(directory: Path, key: bytes = KEY) -> Vocabulary:
    directory.mkdir(parents=True, exist_ok=True)
    vocabulary = Vocabulary(directory / VOCABULARY_FILE, key)
    vocabulary.load()
    return vocabulary


def test_a_token_depends_on_the_word_and_the_key_and_reveals_neither(tmp_path: Path) -> None:
    one = _vocabulary(tmp_path / "a")
    other = _vocabulary(tmp_path / "b", OTHER_KEY)
    token = one.token_of("novakova")
    assert token == one.token_of("novakova")
    assert token != other.token_of("novakova")
    assert token != one.token_of("novakovi")
    assert len(token) == 11
    assert "novak" not in token.lower()
    assert search_key(KEY) != search_key(OTHER_KEY)
    assert key_check(KEY) != key_check(OTHER_KEY)


def test_query_words_are_never_added_indexed_words_are(tmp_path: Path) -> None:
    vocabulary = _vocabulary(tmp_path)
    vocabulary.token_of("hledane")
    assert len(vocabulary) == 0
    vocabulary.tokens(["novak", "novakova", "nováček", "dvorak"])
    assert [word for word, _ in vocabulary.expand("nova", None)] == ["novak", "novakova"]
    assert len(vocabulary.expand("nova", 1)) == 1
    assert vocabulary.expand("x", None) == []


def test_the_word_file_holds_no_word_and_reads_back_only_with_the_key(tmp_path: Path) -> None:
    vocabulary = _vocabulary(tmp_path)
    vocabulary.tokens(["rakovina", "prsu", "pacientky"])
    vocabulary.flush()
    vocabulary.tokens(["diagnoza"])
    vocabulary.flush()
    data = (tmp_path / VOCABULARY_FILE).read_bytes()
    for word in (b"rakovina", b"prsu", b"pacientky", b"diagnoza"):
        assert word not in data
    again = _vocabulary(tmp_path)
    assert [word for word, _ in again.expand("", None)] == [
        "diagnoza",
        "pacientky",
        "prsu",
        "rakovina",
    ]
    with pytest.raises(VocabularyDamaged):
        _vocabulary(tmp_path, OTHER_KEY)


def test_a_torn_last_record_is_ignored_and_cut_by_the_next_writer(tmp_path: Path) -> None:
    vocabulary = _vocabulary(tmp_path)
    vocabulary.tokens(["prvni"])
    vocabulary.flush()
    path = tmp_path / VOCABULARY_FILE
    whole = path.read_bytes()
    vocabulary.tokens(["druhe"])
    vocabulary.flush()
    path.write_bytes(path.read_bytes()[: len(whole) + 7])  # the crash came mid-append
    reopened = _vocabulary(tmp_path)
    assert [word for word, _ in reopened.expand("", None)] == ["prvni"]
    reopened.tokens(["treti"])
    reopened.flush()
    assert [word for word, _ in _vocabulary(tmp_path).expand("", None)] == ["prvni", "treti"]


def test_a_flipped_byte_or_a_swapped_record_is_damage_not_silence(tmp_path: Path) -> None:
    vocabulary = _vocabulary(tmp_path)
    vocabulary.tokens(["prvni"])
    vocabulary.flush()
    path = tmp_path / VOCABULARY_FILE
    data = bytearray(path.read_bytes())
    data[-3] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(VocabularyDamaged):
        _vocabulary(tmp_path)
    path.write_bytes(b"not a vocabulary")
    with pytest.raises(VocabularyDamaged):
        _vocabulary(tmp_path)


def test_a_reader_sees_appended_words_and_a_rewrite(tmp_path: Path) -> None:
    writer = _vocabulary(tmp_path)
    reader = _vocabulary(tmp_path)
    writer.tokens(["alfa", "beta"])
    writer.flush()
    reader.refresh()
    assert [word for word, _ in reader.expand("", None)] == ["alfa", "beta"]
    alfa = writer.token_of("alfa")
    assert writer.keep_only(lambda token: token == alfa) == 1
    reader.refresh()
    assert [word for word, _ in reader.expand("", None)] == ["alfa"]
    writer.tokens(["gama"])
    writer.flush()
    reader.refresh()
    assert [word for word, _ in reader.expand("", None)] == ["alfa", "gama"]


def test_a_document_holds_tokens_and_pairs_of_tokens_never_words(tmp_path: Path) -> None:
    vocabulary = _vocabulary(tmp_path)
    doc = SearchDocument(
        message_id="m-1",
        channel=Channel.EMAIL,
        status=MessageStatus.DRAFT,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        created_by="u-1",
        links=(LinkedEntity.client("C-1"),),
        subject="Diagnóza",
        body=f"rakovina prsu {'x' * 64} konec",
        recipients="jana.novakova@example.com",
        attachment_names="zprava.pdf",
    )
    fields = build_document(doc, vocabulary, 3).to_dict()
    text = fields["text"][0].split()
    words = ["diagnoza", "rakovina", "prsu", "konec", "jana", "novakova", "example", "com"]
    assert text == [vocabulary.token_of(w) for w in [*words, "zprava", "pdf"]]
    pairs = fields["pairs"][0].split()
    assert pairs[:2] == [text[0] + text[1], text[1] + text[2]]
    assert len(pairs) == len(text) - 1
    assert fields["generation"] == [3]
    flat = repr(fields).lower()
    for word in [*words, "zprava", "diagno", "xxxx"]:
        assert word not in flat
    without = build_document(doc, vocabulary, 0, pairs=False).to_dict()
    assert "pairs" not in without
