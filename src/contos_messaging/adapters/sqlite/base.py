"""Shared parts of the SQLite message repository: the database, the key cache, opening sealed
rows (on the database thread, or on the caller's thread for small reads) and entity kinds."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from contos_messaging.adapters._shared.sealing import Sealer, parse_header
from contos_messaging.adapters.sqlite.codec import decode_message, id_text
from contos_messaging.adapters.sqlite.db import SQLiteWorker
from contos_messaging.domain.message import Message
from contos_messaging.errors import IntegrityError, KeyUnavailable
from contos_messaging.ports import KeyStore
from contos_messaging.ports.keys import CLIENT_ERASED

__all__ = ["INLINE_READ_LIMIT", "MessageTables"]

T = TypeVar("T")

# Reads of up to this many messages run on the caller's thread (about 30 µs a message).
INLINE_READ_LIMIT = 50


class _NeedKeys(Exception):
    """Raised on the worker thread when rows need keys not cached yet; carries all of them."""

    def __init__(self, missing: set[tuple[str, str]]) -> None:
        super().__init__(len(missing))
        self.missing = missing


def _message_object_id(raw_id: bytes) -> str:
    return "message:" + id_text(raw_id)


class MessageTables:
    """State and helpers the parts of
    :class:`~contos_messaging.adapters.sqlite.SQLiteMessageRepository` share."""

    _db: SQLiteWorker
    _keys: KeyStore
    _path: Path
    _sealer: Sealer  # seals on the caller's (event-loop) thread
    _opener: Sealer  # opens on the database thread; zstd contexts are per thread
    # Small reads (a page of messages) run on the caller's thread over a read-only connection:
    # no hop to the database thread and back (see _read_inline).
    _reader: sqlite3.Connection | None
    _reader_opener: Sealer
    _key_cache: dict[tuple[str, str], bytes]
    # Scopes erased by any process, as last read from the key store (KeyStore.erased_since);
    # their keys are dropped from _key_cache, and rows sealed under them are never opened.
    _erasure_mark: int = 0
    _erased_scopes: frozenset[str] = frozenset()
    _blind_key: bytes
    _kinds: dict[str, int]

    # -- entity kinds ------------------------------------------------------------------------

    async def _load_kinds(self) -> None:
        rows = await self._db.query(lambda c: c.execute("SELECT name, id FROM kinds").fetchall())
        self._kinds = dict(rows)

    async def _ensure_kinds(self, kinds: set[str]) -> None:
        """Give host-registered kinds their number in a transaction of their own, so the cache
        never holds a number that was rolled back."""
        missing = kinds - self._kinds.keys()
        if not missing:
            return

        def tx(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR IGNORE INTO kinds (name) VALUES (?)", [(k,) for k in sorted(missing)]
            )

        await self._db.transact(tx)
        await self._load_kinds()

    # -- keys --------------------------------------------------------------------------------

    async def _forget_erased(self) -> None:
        """Drop the cached keys of every scope erased since the last look, by any process (one
        small query on the key store: a cached key of an erased client is never used again)."""
        mark, erased = await self._keys.erased_since(self._erasure_mark)
        self._erasure_mark = mark
        if erased:
            self._erased_scopes = self._erased_scopes | erased
            for cached in [k for k in self._key_cache if k[0] in erased]:
                del self._key_cache[cached]

    async def _with_keys(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        """Run ``fn`` on the worker; when its rows need keys not cached yet, fetch them all and
        run it again (each key is fetched once per process)."""
        await self._forget_erased()
        for _ in range(3):
            try:
                return await (self._db.transact(fn) if write else self._db.query(fn))
            except _NeedKeys as need:
                await self._fetch_keys(need.missing)
        raise KeyUnavailable("", "keys changed while reading; try again")

    async def _fetch_keys(self, missing: set[tuple[str, str]]) -> None:
        """Fetch keys into the cache in one request (a page of hits from twenty clients needs
        twenty keys: one round trip to the key store instead of twenty). A scope erased
        meanwhile is learnt here and left out: its rows are then treated as erased."""
        try:
            self._key_cache.update(await self._keys.get_many(missing))
        except KeyUnavailable:
            await self._forget_erased()
            alive = {pair for pair in missing if pair[0] not in self._erased_scopes}
            if len(alive) == len(missing):
                raise
            self._key_cache.update(await self._keys.get_many(alive))

    def _require_keys(self, rows: Sequence[Sequence[Any]], scope_col: int, blob_col: int) -> None:
        missing = set()
        for row in rows:
            try:
                key_id = parse_header("", row[blob_col]).key_id
            except IntegrityError:
                continue  # opening it will report the damage, naming the object
            if row[scope_col] in self._erased_scopes:
                continue  # never opened: reported as erased
            if (row[scope_col], key_id) not in self._key_cache:
                missing.add((row[scope_col], key_id))
        if missing:
            raise _NeedKeys(missing)

    def _key_for(self, scope: str) -> Callable[[str], bytes]:
        if scope in self._erased_scopes:
            raise KeyUnavailable(scope, CLIENT_ERASED)

        def lookup(key_id: str) -> bytes:
            key = self._key_cache.get((scope, key_id))
            if key is None:
                raise _NeedKeys({(scope, key_id)})
            return key

        return lookup

    async def _current_keys(self, scopes: set[str]) -> dict[str, tuple[str, bytes]]:
        return {scope: await self._keys.current(scope) for scope in scopes}

    def _open_content(
        self, object_id: str, scope: str, blob: bytes, opener: Sealer | None = None
    ) -> bytes:
        return (opener or self._opener).open(
            blob, object_id=object_id, scope=scope, key_for=self._key_for(scope)
        )

    def _decode(self, row: Sequence[Any], opener: Sealer | None = None) -> Message:
        raw_id, scope, blob = row[0], row[13], row[14]
        content = self._open_content(_message_object_id(raw_id), scope, blob, opener)
        return decode_message(row, content)

    def _decode_rows(
        self,
        rows: Sequence[Sequence[Any]],
        opener: Sealer | None = None,
        *,
        skip_erased: bool = False,
    ) -> list[Message]:
        """Messages of ``rows``; when a key is not cached, raises :class:`_NeedKeys` naming every
        key the rows need (looked for only then: the usual case is that all are cached). Rows
        of erased clients raise KeyUnavailable, or are left out with ``skip_erased``."""
        if skip_erased and self._erased_scopes:
            rows = [row for row in rows if row[13] not in self._erased_scopes]
        try:
            return [self._decode(row, opener) for row in rows]
        except _NeedKeys:
            self._require_keys(rows, 13, 14)
            raise

    async def _read_here(self, fn: Callable[[sqlite3.Connection, Sealer], T]) -> T | None:
        """Run a small read on this thread over the read-only connection, fetching the keys it
        needs first; None when it cannot (the database busy): the caller then goes to the
        database thread."""
        await self._forget_erased()
        for _ in range(3):
            try:
                return self._read_inline(fn)
            except _NeedKeys as need:
                await self._fetch_keys(need.missing)
        return None

    def _read_inline(self, fn: Callable[[sqlite3.Connection, Sealer], T]) -> T | None:
        """Run a small read on this thread over the read-only connection; None when the
        database is busy; :class:`_NeedKeys` when keys are not cached yet. WAL readers neither
        wait for writers nor block them, and every statement sees what was committed before it
        started."""
        try:
            if self._reader is None:
                uri = self._path.resolve().as_uri() + "?mode=ro"
                reader = sqlite3.connect(
                    uri, uri=True, isolation_level=None, check_same_thread=False
                )
                reader.execute("PRAGMA busy_timeout = 200")
                reader.execute("PRAGMA cache_size = -65536")
                self._reader = reader
            return fn(self._reader, self._reader_opener)
        except sqlite3.OperationalError:
            return None

    def _blind(self, value: str) -> bytes:
        # Keyed BLAKE2b is a MAC (a PRF under the key), and much cheaper than HMAC-SHA256.
        return hashlib.blake2b(
            value.strip().lower().encode("utf-8"), key=self._blind_key, digest_size=8
        ).digest()
