"""The keyed vocabulary of the search index: what turns words into the tokens the index holds,
and the sealed list of indexed words that query words are expanded through.

The index never holds a word. Each folded word is indexed as a keyed token, the first 64 bits
of ``BLAKE2b(word, key=token key)`` in URL-safe base64 (11 characters), and a word pair as the
two tokens side by side. The token key is derived from the search key (itself derived from the
key store's blind-index key, wrapped by the master key), so without the master key nobody can
compute the token of a candidate word: the index files cannot be read or confirmed word by
word.

Prefix matching (``novák`` finds ``Nováková``) needs the words themselves, so the indexed words
are also kept here: in memory, sorted, and on disk in ``contos-words.sealed`` in the index
directory, a header and then append-only records, each the words new since the previous commit,
zstd-compressed and sealed with AES-256-GCM under a key derived from the search key (the file
id and the record number are the associated data: records cannot be moved or swapped). A record
is appended and fsynced before the Tantivy commit whose documents hold its words. A process that
only reads the index picks up records appended by the writing process before each search (one
``stat``); when the file is rewritten (after a compaction drops the words no document holds any
more) it reads it again from the start. A torn last record (a crash while appending) is cut off
by the next writer; a record that fails to open makes the vocabulary damaged
(:class:`VocabularyDamaged`), and the index is rebuilt from the store.

A document's fields are built line by line (:meth:`Vocabulary.fields`), and the tokens of each
line are remembered: messages from one template share most of their lines, so most lines of a
bulk run cost one dictionary lookup instead of folding, splitting and looking up each word (the
other lines of a document are folded together). The lines remembered are in this process's
memory only (at most about a million characters of them), beside the words themselves.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import struct
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sortedcontainers import SortedDict

from contos_messaging.adapters.tantivy.letter_runs import AFTER_DIGITS, letter_run, letter_runs
from contos_messaging.adapters.tantivy.pairs import LONG_WORD
from contos_messaging.domain.text import fold_part, words

__all__ = ["VOCABULARY_FILE", "Vocabulary", "VocabularyDamaged", "key_check", "search_key"]

VOCABULARY_FILE = "contos-words.sealed"
_MAGIC = b"CMW1"
_HEADER = len(_MAGIC) + 16  # magic, file id
_LENGTH = struct.Struct(">I")
_NONCE = 12
_RECORD_LIMIT = 64 * 1024 * 1024
# Lines remembered with their tokens: at most this many characters of them in all (then the
# memory starts again empty), none longer than _LONG_LINE (tokenized each time).
_LINES_CHARS = 1_000_000
_LONG_LINE = 1_000
# ASCII letters and digits kept, line breaks too, anything else a space.
_SEPARATORS_BUT_LINES = "".join(
    c if c.isalnum() or c == "\n" else " " for c in map(chr, range(128))
)


class VocabularyDamaged(Exception):
    """The sealed vocabulary cannot be read (a wrong key, or damaged bytes)."""


def search_key(blind_index_key: bytes) -> bytes:
    """The search key, derived from the key store's blind-index key (so it is wrapped by the
    master key, re-wrapped by a master-key rotation, and never stored in the index)."""
    return hmac.digest(blind_index_key, b"contos-messaging search index v1", "sha256")


def _derived(key: bytes, purpose: bytes) -> bytes:
    return hmac.digest(key, purpose, "sha256")


def key_check(key: bytes) -> str:
    """A value that tells whether an index was written under ``key`` (and nothing about it)."""
    return _derived(key, b"check").hex()[:16]


def _indexed(folded: list[str]) -> list[str]:
    """The words that are indexed (those of fewer than LONG_WORD characters)."""
    if folded and max(map(len, folded)) >= LONG_WORD:
        return [word for word in folded if len(word) < LONG_WORD]
    return folded


class Vocabulary:
    """Tokens of words under a key, and the sorted, sealed set of indexed words.

    Safe to use from several threads (the event loop stages documents, the writer's thread
    commits, reader threads expand query words)."""

    def __init__(self, path: Path, key: bytes) -> None:
        self._path = path
        self._token_key = _derived(key, b"token")
        self._hasher = hashlib.blake2b(digest_size=8, key=self._token_key)  # (copied per word)
        self._seal = AESGCM(_derived(key, b"vocabulary seal"))
        self._lock = threading.Lock()
        self._words: SortedDict[str, str] = SortedDict()
        self._new: list[str] = []  # added since the last flush
        self._file_id = b""
        self._records = 0
        self._end = 0  # bytes of the file read (or written) so far
        self._stat: tuple[int, int] | None = None  # (inode, size) at that point
        # Lines seen, with their tokens and their letter runs' tokens (each joined by spaces).
        self._lines: dict[str, tuple[str, str]] = {}
        self._lines_chars = 0

    # -- tokens ----------------------------------------------------------------------------

    def token_of(self, word: str) -> str:
        """The token of ``word`` (known or not; a query word is never added)."""
        known = self._words.get(word)
        if known is not None:
            return known
        hasher = self._hasher.copy()
        hasher.update(word.encode())
        return base64.urlsafe_b64encode(hasher.digest())[:11].decode()

    def tokens(self, words: Iterable[str]) -> list[str]:
        """Tokens of indexed words, adding the words not known yet (written to the file by the
        next :meth:`flush`)."""
        known = self._words
        out = []
        for word in words:
            token = known.get(word)
            if token is None:
                with self._lock:
                    token = known.get(word)
                    if token is None:
                        token = self.token_of(word)
                        known[word] = token
                        self._new.append(word)
            out.append(token)
        return out

    def fields(self, text: str, *, pairs: bool = True) -> tuple[str, str]:
        """A document's ``text`` and ``pairs`` fields for ``text``: the tokens of its folded
        words (as ``domain.text.words`` splits it, words of LONG_WORD characters or more left
        out), joined by spaces, and each two neighbouring tokens side by side, joined by spaces
        (``""`` without ``pairs``). The words not known yet are added, as by :meth:`tokens`.

        Built from the lines seen before and, for the others, from folding them together (see
        the module docstring): the same as tokenizing the whole text, as a line break is never
        part of a word and a text without letters of another script folds line by line as it
        folds whole (a text with such letters is tokenized whole).

        After the tokens, ``text`` holds the tokens of the letter runs of the words that are
        letters and then a digit (``svoboda`` for ``svoboda101``; see :func:`letter_run`), in
        the order of their words: they take no part in the pairs."""
        lines = text.split("\n")
        found = list(map(self._lines.get, lines))
        if None in found and not self._fill(lines, found):
            return self._fields_whole(text, pairs=pairs)
        joined = " ".join([line[0] for line in found if line and line[0]])
        runs = " ".join([line[1] for line in found if line and line[1]])
        shown = f"{joined} {runs}" if joined and runs else joined or runs
        if not pairs:
            return shown, ""
        tokens = joined.split()
        return shown, " ".join(map(str.__add__, tokens, tokens[1:]))

    def _fill(self, lines: list[str], found: list[tuple[str, str] | None]) -> bool:
        """Tokens of the lines not seen before (``None`` in ``found``), folded together and
        remembered; False when they hold letters of another script."""
        missing = [at for at, line in enumerate(found) if line is None]
        folded, other = fold_part("\n".join([lines[at] for at in missing]))
        if other:
            return False
        # (Folded text without other scripts is ASCII: its words as search_words splits it.)
        folded_lines = folded.translate(_SEPARATORS_BUT_LINES).split("\n")
        if len(folded_lines) != len(missing):  # (folding never makes a line break)
            return False
        known = self._words.__getitem__
        for at, folded_line in zip(missing, folded_lines, strict=True):
            found_words = folded_line.split()
            if len(folded_line) >= LONG_WORD:
                found_words = _indexed(found_words)
            try:
                joined = " ".join(map(known, found_words))
            except KeyError:  # new words
                joined = " ".join(self.tokens(found_words))
            runs = letter_runs(found_words)
            found[at] = entry = (joined, " ".join(self.tokens(runs)) if runs else "")
            line = lines[at]
            if len(line) <= _LONG_LINE:
                if self._lines_chars + len(line) > _LINES_CHARS:
                    self._forget_lines()
                self._lines[line] = entry
                self._lines_chars += len(line)
        return True

    def _fields_whole(self, text: str, *, pairs: bool) -> tuple[str, str]:
        found = _indexed(words(text))
        tokens = self.tokens(found)
        joined = " ".join(map(str.__add__, tokens, tokens[1:])) if pairs else ""
        return " ".join(tokens + self.tokens(letter_runs(found))), joined

    def _forget_lines(self) -> None:
        """Forget the lines seen (when words are dropped, or the memory for them is full)."""
        self._lines = {}
        self._lines_chars = 0

    def expand(self, prefix: str, limit: int | None) -> list[tuple[str, str]]:
        """Known words starting with ``prefix`` and their tokens, in order, at most ``limit``
        (``limit + 1`` tells the caller there are more). Left out: the words that are letters
        and then a digit whose letters hold the whole prefix (``svoboda101`` for ``svob``):
        every document holding one holds its letter run (``svoboda``, a known word starting
        with the prefix too), so they would match nothing more. They sort together after
        their letter run (``svoboda0`` ... ``svoboda9...``), and are passed over at once."""
        with self._lock:
            found: list[tuple[str, str]] = []
            start = prefix
            while True:
                for word in self._words.irange(minimum=start):
                    if not word.startswith(prefix) or (limit is not None and len(found) >= limit):
                        return found
                    run = letter_run(word)
                    if run is not None and len(run) >= len(prefix):
                        start = run + AFTER_DIGITS
                        break
                    found.append((word, self._words[word]))
                else:
                    return found

    def __len__(self) -> int:
        return len(self._words)

    # -- the file -----------------------------------------------------------------------------

    def _aad(self, record: int) -> bytes:
        return self._file_id + record.to_bytes(8, "big")

    def _seal_record(self, words: list[str], record: int) -> bytes:
        plain = zstandard.ZstdCompressor(level=3).compress("\n".join(words).encode())
        nonce = os.urandom(_NONCE)
        sealed = nonce + self._seal.encrypt(nonce, plain, self._aad(record))
        return _LENGTH.pack(len(sealed)) + sealed

    def _open_record(self, sealed: bytes, record: int) -> list[str]:
        try:
            plain = self._seal.decrypt(sealed[:_NONCE], sealed[_NONCE:], self._aad(record))
            text = zstandard.ZstdDecompressor().decompress(plain, max_output_size=_RECORD_LIMIT)
        except (InvalidTag, zstandard.ZstdError) as exc:
            raise VocabularyDamaged(f"record {record} of {self._path} does not open") from exc
        return text.decode().split("\n") if text else []

    def load(self) -> None:
        """Read the file (creating it when absent); :class:`VocabularyDamaged` when a record
        does not open."""
        with self._lock:
            if not self._path.exists():
                with contextlib.suppress(FileExistsError):  # (another process was first)
                    self._create([], replace=False)
                    return
            self._words.clear()
            self._forget_lines()
            self._new.clear()
            self._file_id, self._records, self._end = b"", 0, 0
            self._read_new()

    def _read_new(self) -> None:
        """Read records past what was read (the caller holds the lock)."""
        try:
            with self._path.open("rb") as file:
                stat = os.fstat(file.fileno())
                if self._stat is not None and stat.st_ino != self._stat[0]:  # rewritten
                    self._words.clear()
                    self._forget_lines()
                    self._file_id, self._records, self._end = b"", 0, 0
                if not self._end:
                    header = file.read(_HEADER)
                    if len(header) < _HEADER or not header.startswith(_MAGIC):
                        raise VocabularyDamaged(f"{self._path} is not a sealed vocabulary")
                    self._file_id, self._end = header[len(_MAGIC) :], _HEADER
                file.seek(self._end)
                data = file.read()
        except OSError as exc:
            raise VocabularyDamaged(f"cannot read {self._path}: {exc}") from exc
        at = 0
        while at + _LENGTH.size <= len(data):
            (length,) = _LENGTH.unpack_from(data, at)
            if at + _LENGTH.size + length > len(data):
                break  # torn (or being written): left for later
            sealed = data[at + _LENGTH.size : at + _LENGTH.size + length]
            for word in self._open_record(sealed, self._records):
                self._words[word] = self.token_of(word)
            self._records += 1
            at += _LENGTH.size + length
        self._end += at
        self._stat = (stat.st_ino, self._end)

    def refresh(self) -> None:
        """Read what another process appended (or everything, when it rewrote the file); one
        ``stat`` when nothing changed."""
        try:
            stat = self._path.stat()
        except OSError:
            return
        if self._stat is not None and (stat.st_ino, stat.st_size) == self._stat:
            return
        with self._lock:
            self._read_new()

    def flush(self) -> None:
        """Append the words added since the last flush, and fsync (before the commit whose
        documents hold them)."""
        with self._lock:
            if not self._new:
                return
            record = self._seal_record(self._new, self._records)
            with self._path.open("r+b") as file:
                file.truncate(self._end)  # a torn record of a crashed writer goes
                file.seek(self._end)
                file.write(record)
                file.flush()
                os.fsync(file.fileno())
                size = os.fstat(file.fileno()).st_size
                inode = os.fstat(file.fileno()).st_ino
            self._records += 1
            self._end += len(record)
            self._stat = (inode, size)
            self._new.clear()

    def _create(self, words: list[str], *, replace: bool = True) -> None:
        """Write a new file holding ``words`` in place of the old one, atomically (the caller
        holds the lock)."""
        self._file_id = os.urandom(16)
        self._records = 0
        body = _MAGIC + self._file_id
        if words:
            body += self._seal_record(words, 0)
            self._records = 1
        temporary = self._path.with_name(
            f"{self._path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
        )  # (of this process's own: two may open the index at once)
        with temporary.open("wb") as file:
            file.write(body)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temporary, self._path)
        else:  # FileExistsError when the file exists by now
            try:
                os.link(temporary, self._path)
            finally:
                temporary.unlink()
        _fsync_directory(self._path.parent)
        self._end = len(body)
        self._stat = (self._path.stat().st_ino, self._end)
        self._words = SortedDict({word: self.token_of(word) for word in words})
        self._forget_lines()
        self._new.clear()

    def keep_only(self, wanted: Callable[[str], bool]) -> int:
        """Rewrite the file with the words for which ``wanted(token)`` holds (the others are in
        no document any more); returns how many were dropped."""
        with self._lock:
            kept = [word for word, token in self._words.items() if wanted(token)]
            dropped = len(self._words) - len(kept)
            self._create(kept)
            return dropped

    def reset(self) -> None:
        """Forget every word (the index was emptied)."""
        with self._lock:
            self._create([])


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
