"""The scan: a copied store, read without the master key with the engines' own tools, gives no
word, folded word, word pair, address, name or attachment name of any client; after an erasure
and its compaction, not even the key finds a token of the erased client in the index.

Words here are six letters or more, so that a chance match in compressed or random bytes (one
in 2^48 per position) cannot make the test pass or fail by luck.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import tantivy

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Attachment,
    LinkedEntity,
    StorageError,
)
from contos_messaging.adapters.tantivy import TantivySearchIndex
from contos_messaging.adapters.tantivy.schema import LAYOUT_FILE
from contos_messaging.adapters.tantivy.vocabulary import VOCABULARY_FILE, Vocabulary
from contos_messaging.domain.text import words
from contos_messaging.services import erasures
from tests.integration.conftest import MASTER_KEY, all_files, store_search_key, worker_env

ERASED = LinkedEntity.client("C-ERASED")
KEPT = LinkedEntity.client("C-KEPT")

# What each client's messages hold: subject and body words, a name, an address and a file name.
SECRETS = {
    ERASED: {
        "subject": "Diagnóza pacientky Radmily",
        "body": "Rakovina prsu potvrzena, onkologie doporučuje chemoterapii.",
        "to": "Radmila Křížová <radmila.krizova@nemocnice-onkologie.cz>",
        "file": "lekarska-zprava-krizova.pdf",
    },
    KEPT: {
        "subject": "Hypotéka Vondráček schválena",
        "body": "Refinancování hypotéky bylo schváleno, splátka klesá.",
        "to": "Bohumil Vondráček <bohumil.vondracek@hypotecni-banka.cz>",
        "file": "uverova-smlouva-vondracek.pdf",
    },
}
ROUNDS = 12  # messages per client, in as many commits (several segments)


def _words(entity: LinkedEntity) -> set[str]:
    """Every word of a client's messages, as typed and folded, six letters or more."""
    secret = SECRETS[entity]
    text = " ".join(secret.values())
    typed = {w for w in text.replace("<", " ").replace(">", " ").split() if len(w) >= 6}
    parts = {p for w in typed for p in w.replace("@", " ").replace(".", " ").split("-")}
    folded = {w for w in words(text) if len(w) >= 6}
    pairs = {f"{a}_{b}" for a, b in zip(words(text), words(text)[1:], strict=False)}
    return {w for w in typed | parts | folded | pairs if len(w) >= 6} | {
        w.lower() for w in typed if len(w) >= 6
    }


async def _write(messenger: AsyncMessenger, clerk: Actor) -> None:
    for round_ in range(ROUNDS):
        for entity, secret in SECRETS.items():
            await messenger.compose_email(
                clerk,
                to=secret["to"],
                subject=f"{secret['subject']} {round_}",
                text=secret["body"],
                links=[entity, LinkedEntity.order(f"O-{round_}")],
                attachments=[Attachment.from_bytes(secret["file"], b"%PDF-1.7 " * 50)],
            )
        await messenger.wait_indexed()  # one commit per round


def _index_terms(index_dir: Path) -> dict[str, list[str]]:
    """Every term of every text field of the index, listed with Tantivy's own API."""
    index = tantivy.Index.open(str(index_dir))
    searcher = index.searcher()
    fields = ["text", "pairs", "message_id", "links", "created_by", "template", "channel"]
    return {
        field: [term for term, _count in searcher.terms_with_prefix(field, "", limit=1_000_000)]
        for field in fields
    }


def _sqlite_text(path: Path) -> bytes:
    """Every value of every table of a database, as bytes (what a dump shows)."""
    found = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    found.append(value if isinstance(value, bytes) else str(value).encode())
    return b"\n".join(found)


def _assert_nothing_readable(store_dir: Path, secrets: set[str]) -> None:
    """No secret in any file's bytes, any SQLite value, or any term of the index."""
    needles = {s.encode() for s in secrets} | {s.encode("utf-16-le") for s in secrets}
    for path in all_files(store_dir):
        data = path.read_bytes()
        if path.suffix == ".sqlite":
            data += _sqlite_text(path)
        for needle in needles:
            assert needle not in data, f"{needle!r} readable in {path.relative_to(store_dir)}"
    terms = _index_terms(store_dir / "search")
    for field, listed in terms.items():
        for term in listed:
            for secret in secrets:
                assert secret not in term, f"{secret!r} in the index field {field}: {term!r}"
    assert len(terms["text"]) > 20  # (the index was listed: it holds the kept client's tokens)


async def test_a_copied_store_reveals_no_word_and_an_erased_client_leaves_no_token(
    messenger: AsyncMessenger, store_dir: Path, clerk: Actor
) -> None:
    await _write(messenger, clerk)
    found = await messenger.search("krizova")
    assert found.total == ROUNDS  # searchable before: the words are indexed
    assert (await messenger.search("onkolog")).total == ROUNDS  # (a prefix)
    assert (await messenger.search('"rakovina prsu"')).total == ROUNDS  # (a pair)

    erased_ids = await messenger.erase_client(Actor.system(), "C-ERASED")
    assert len(erased_ids) == ROUNDS
    assert (await messenger.search("krizova")).total == 0  # at once, before any compaction
    report = await messenger.wait_for_compaction()
    assert report is not None
    assert report.documents_rewritten >= ROUNDS  # the kept client's documents were rewritten
    assert report.words_dropped > 0
    assert (await messenger.search("vondracek")).total == ROUNDS
    assert (await messenger.search('"hypoteky bylo"')).total == ROUNDS
    key = await store_search_key(store_dir)
    await messenger.aclose()

    # Without the master key: no word of either client in any file, value or index term.
    _assert_nothing_readable(store_dir, _words(ERASED) | _words(KEPT))

    # With the key: every token of the erased client is gone from the index, the kept one's
    # are there (so the check can fail), and the vocabulary keeps only the kept words.
    vocabulary = Vocabulary(store_dir / "search" / VOCABULARY_FILE, key)
    vocabulary.load()
    terms = _index_terms(store_dir / "search")
    text_terms, pair_terms = set(terms["text"]), set(terms["pairs"])
    only_erased = set(words(" ".join(SECRETS[ERASED].values()))) - set(
        words(" ".join(SECRETS[KEPT].values()))
    )
    only_erased -= {"cz", "pdf"}  # (shared: every address and file has them)
    assert {"krizova", "rakovina", "onkologie", "radmila"} <= only_erased
    for word in only_erased:
        assert vocabulary.token_of(word) not in text_terms, word
        assert vocabulary.expand(word, None) == [], word
    erased_words = words(SECRETS[ERASED]["body"])
    for first, second in itertools.pairwise(erased_words):
        assert vocabulary.token_of(first) + vocabulary.token_of(second) not in pair_terms
    for word in ("vondracek", "hypoteky", "bohumil", "refinancovani"):
        assert vocabulary.token_of(word) in text_terms, word
        assert vocabulary.expand(word, None) != [], word
    assert "client:C-ERASED" not in terms["links"]
    assert "client:C-KEPT" in terms["links"]


async def test_a_compaction_cut_short_resumes_on_the_next_open(
    messenger: AsyncMessenger, store_dir: Path, clerk: Actor
) -> None:
    await _write(messenger, clerk)

    async def crash() -> int:  # the process dies before the compaction's last step
        raise StorageError("the process died")

    search = messenger.ports.search
    assert isinstance(search, TantivySearchIndex)
    search._compactor._finish = crash  # type: ignore[method-assign]
    await messenger.erase_client(Actor.system(), "C-ERASED")
    assert await messenger.wait_for_compaction() is None  # it failed (and says so in the log)
    await messenger.aclose()
    layout = json.loads((store_dir / "search" / LAYOUT_FILE).read_text())
    assert layout["compacted"] < layout["generation"]  # recorded as not done

    reopened = await AsyncMessenger.open(
        store_dir, master_key=MASTER_KEY, company_sender="ContOS <info@contos.example.com>"
    )
    try:
        report = await reopened.wait_for_compaction()  # resumed on open, joined here
        assert report is not None
        assert report.words_dropped > 0
        assert (await reopened.history(KEPT)).total == ROUNDS
        assert (await reopened.search("vondracek")).total == ROUNDS
        assert (await reopened.search("krizova")).total == 0
        assert await reopened.wait_for_compaction() == report  # nothing new: the same report
        key = await store_search_key(store_dir)
    finally:
        await reopened.aclose()
    layout = json.loads((store_dir / "search" / LAYOUT_FILE).read_text())
    assert layout["compacted"] == layout["generation"]
    vocabulary = Vocabulary(store_dir / "search" / VOCABULARY_FILE, key)
    vocabulary.load()
    text_terms = set(_index_terms(store_dir / "search")["text"])
    assert vocabulary.token_of("krizova") not in text_terms
    assert vocabulary.token_of("vondracek") in text_terms


@pytest.mark.parametrize("noticed", ["when asked", "in the background"])
async def test_an_erasure_by_another_process_leaves_no_token_in_the_writers_index(
    messenger: AsyncMessenger,
    store_dir: Path,
    clerk: Actor,
    noticed: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """This process writes the index; another one erases the client (it cannot write the
    index). ``wait_for_compaction`` here notices the erasure, drops the documents and
    compacts; so does the look every few seconds without being asked."""
    dropped = asyncio.Event()  # set when the background look dropped the documents
    if noticed == "in the background":
        follower = messenger._open().erasures
        drop = follower._drop_missing

        async def dropping() -> int:
            count = await drop()
            dropped.set()
            return count

        monkeypatch.setattr(follower, "_drop_missing", dropping)
        monkeypatch.setattr(erasures, "POLL_SECONDS", 0)  # (look at every turn of the loop)
        await follower.stop()
        await follower.start()
    await _write(messenger, clerk)
    worker = Path(__file__).with_name("_store_worker.py")
    done = subprocess.run(
        [sys.executable, str(worker), "erase", str(store_dir), "C-ERASED", "-"],
        capture_output=True, text=True, env=worker_env(), timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["erased", str(ROUNDS)]
    key = await store_search_key(store_dir)
    vocabulary = Vocabulary(store_dir / "search" / VOCABULARY_FILE, key)
    vocabulary.load()
    if noticed == "when asked":
        index = tantivy.Index.open(str(store_dir / "search"))
        assert index.searcher().doc_freq("text", vocabulary.token_of("krizova")) == ROUNDS
    else:
        await asyncio.wait_for(dropped.wait(), 60)  # (a bound for a broken build only)
        search = messenger.ports.search
        assert search is not None
        assert len(await search.ids()) == ROUNDS  # the erased client's documents are gone

    report = await messenger.wait_for_compaction()
    assert report is not None
    assert report.documents_rewritten >= ROUNDS
    assert (await messenger.search("vondracek")).total == ROUNDS
    assert (await messenger.search("krizova")).total == 0
    await messenger.aclose()
    vocabulary.load()
    text_terms = set(_index_terms(store_dir / "search")["text"])
    for word in ("krizova", "rakovina", "onkologie", "radmila"):
        assert vocabulary.token_of(word) not in text_terms, word
    assert vocabulary.token_of("vondracek") in text_terms
