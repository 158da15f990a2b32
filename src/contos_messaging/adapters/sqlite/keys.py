"""SQLiteKeyStore: per-client data keys wrapped by a master key that never touches the disk.

The master key comes from the caller, the ``CONTOS_MESSAGING_MASTER_KEY`` environment variable
(base64 of 32 bytes) or the file named by ``CONTOS_MESSAGING_MASTER_KEY_FILE``. It wraps one
*store key* (``store_keys``), and the store key wraps the client keys (``client_keys``); opening
with a wrong master key fails to unwrap the store key, before anything is written. Destroying
a scope deletes its wrapped keys with ``secure_delete`` on and truncates the WAL, so the keys
are gone from the file, not just unlinked.

Rotating the master key works with the store open, in this process and in others: a new store
key (the next *generation*) is made, every client key is re-wrapped under it and it is wrapped
under the new master key, in one transaction; the older generations lose their wrap under the
old master key (so the old master key opens nothing in the file any more) and keep a *bridge*,
the new store key wrapped under the one before. A process opened with the old master key holds
the old store key in memory and follows the bridges to read keys re-wrapped since; once every
process runs with the new master key, :meth:`SQLiteKeyStore.finish_master_rotation` deletes
the bridges (a process still on the old key that has not crossed them yet then gets a clear
``KeyUnavailable`` for any key it does not hold).

Erasure holds across processes: destroying a scope also appends it to ``erasures`` (a
sequence of erased scopes in ``keys.sqlite``, shared by every process on the store), and every
call that hands out a key first reads the erasures committed since it last looked (one indexed
query on the caller's thread), so a key another process erased is dropped from this process's
cache before it could seal or open anything again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Collection
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contos_messaging.adapters.sqlite.db import SQLiteWorker
from contos_messaging.adapters.sqlite.store_keys import StoreKeyLayer
from contos_messaging.adapters.sqlite.wrapping import (
    ENV_MASTER_KEY,
    ENV_MASTER_KEY_FILE,
    check_before_opening,
    load_master_key,
)
from contos_messaging.adapters.sqlite.wrapping import aad as _aad
from contos_messaging.adapters.sqlite.wrapping import wrap as _wrap
from contos_messaging.errors import KeyUnavailable, UsageError
from contos_messaging.ports.keys import CLIENT_ERASED

__all__ = ["ENV_MASTER_KEY", "ENV_MASTER_KEY_FILE", "SQLiteKeyStore", "load_master_key"]

log = logging.getLogger("contos_messaging")

_BLIND_SCOPE = "\x00blind-index"

_MIGRATIONS = [
    [
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
        "CREATE TABLE client_keys (scope TEXT NOT NULL, key_id TEXT NOT NULL, "
        "wrapped BLOB NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (scope, key_id)) "
        "WITHOUT ROWID",
        "CREATE TABLE current_keys (scope TEXT PRIMARY KEY, key_id TEXT NOT NULL) WITHOUT ROWID",
        "CREATE TABLE destroyed (scope TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID",
    ],
    [
        # The erasure generation: every process compares its last seen seq with this table.
        "CREATE TABLE erasures (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
        "scope TEXT NOT NULL UNIQUE, at INTEGER NOT NULL)",
        "INSERT INTO erasures (scope, at) SELECT scope, at FROM destroyed ORDER BY at, scope",
    ],
    [
        # Client keys wrapped under a store key of a generation (0: under the master key, as
        # before store keys); the newest store key wrapped under the master key, each one
        # after the first under the one before it until a rotation is finished.
        "ALTER TABLE client_keys ADD COLUMN generation INTEGER NOT NULL DEFAULT 0",
        "CREATE TABLE store_keys (generation INTEGER PRIMARY KEY, under_master BLOB, "
        "under_previous BLOB, created_at INTEGER NOT NULL)",
    ],
]
_ERASED = CLIENT_ERASED


class SQLiteKeyStore(StoreKeyLayer):
    """Key store in ``keys.sqlite``: random 32-byte keys per scope, wrapped with the master key.

    Open with ``await SQLiteKeyStore.open(path, master_key)``.
    """

    def __init__(self, path: Path, master_key: bytes) -> None:
        self._db = SQLiteWorker(path, migrations=_MIGRATIONS, name="keys", secure_delete=True)
        self._master_key = master_key
        self._master = AESGCM(master_key)
        # Store keys by generation: the one unwrapped on open and those reached over bridges.
        self._store_keys: dict[int, AESGCM] = {}
        self._cache: dict[tuple[str, str], bytes] = {}
        self._current: dict[str, str] = {}
        self._index_key: bytes | None = None
        self._path = path
        # Erasures seen so far (``erasures.seq``) and the scopes they named.
        self._mark = 0
        self._erased: set[str] = set()
        # Erasure checks run on the caller's thread over a read-only connection (a few µs).
        self._reader: sqlite3.Connection | None = None
        # An erasure or rotation could not empty the WAL (another connection was reading).
        self._lingering = False
        self._closed = False

    @classmethod
    async def open(cls, path: str | os.PathLike[str], master_key: bytes) -> SQLiteKeyStore:
        """Open (or create) the key store; a wrong master key raises ConfigurationError and
        writes nothing."""
        store = cls(Path(path), master_key)
        await asyncio.to_thread(check_before_opening, store._path, store._master)
        await store._db.start()
        try:
            await store._db.transact(store._check_master)
            store._index_key = await store._get_or_create(_BLIND_SCOPE)
        except BaseException:
            await store.aclose()
            raise
        return store

    async def _get_or_create(self, scope: str) -> bytes:
        return (await self.current(scope))[1]

    # -- erasures of other processes ---------------------------------------------------------

    @staticmethod
    def _erasures_tx(conn: sqlite3.Connection, mark: int) -> list[tuple[int, str]]:
        return conn.execute(
            "SELECT seq, scope FROM erasures WHERE seq > ? ORDER BY seq", (mark,)
        ).fetchall()

    def _read_erasures_inline(self, mark: int) -> list[tuple[int, str]] | None:
        """Erasures after ``mark`` read on this thread; None when the database is busy."""
        try:
            if self._reader is None:
                uri = self._path.resolve().as_uri() + "?mode=ro"
                reader = sqlite3.connect(
                    uri, uri=True, isolation_level=None, check_same_thread=False
                )
                reader.execute("PRAGMA busy_timeout = 200")
                self._reader = reader
            return self._erasures_tx(self._reader, mark)
        except sqlite3.OperationalError:
            return None

    async def _sync(self) -> None:
        """Forget every cached key of a scope erased since the last look, by any process (and
        empty the write-ahead log if an erasure or rotation could not)."""
        if self._closed:  # (no key from the cache, no connection reopened)
            raise UsageError("the key store is closed")
        if self._lingering:
            await self._db.run(self._checkpoint, False)
        mark = self._mark
        rows = self._read_erasures_inline(mark)
        if rows is None:
            rows = await self._db.query(lambda conn: self._erasures_tx(conn, mark))
        self._forget(rows)

    def _forget(self, rows: list[tuple[int, str]]) -> None:
        if not rows:
            return
        scopes = {scope for _seq, scope in rows}
        self._erased |= scopes
        self._mark = max(self._mark, rows[-1][0])
        for scope in scopes:
            self._current.pop(scope, None)
        for cached in [k for k in self._cache if k[0] in scopes]:
            del self._cache[cached]

    def _refuse_erased(self, scope: str) -> None:
        if scope in self._erased:
            raise KeyUnavailable(scope, _ERASED)

    async def erased_since(self, mark: int, /) -> tuple[int, frozenset[str]]:
        """``(new mark, scopes erased after mark)``, read from ``keys.sqlite`` now (``mark``
        0: every erasure)."""
        if self._closed:
            raise UsageError("the key store is closed")
        rows = self._read_erasures_inline(mark)
        if rows is None:
            rows = await self._db.query(lambda conn: self._erasures_tx(conn, mark))
        if mark <= self._mark:  # the rows cover every erasure this handle has not seen
            self._forget(rows)
        return (rows[-1][0] if rows else mark), frozenset(scope for _seq, scope in rows)

    # -- port --------------------------------------------------------------------------------

    async def current(self, scope: str, /) -> tuple[str, bytes]:
        """The key for new writes in ``scope``, created on first use; KeyUnavailable once
        any process erased the scope (checked in ``keys.sqlite`` at every call)."""
        await self._sync()
        self._refuse_erased(scope)
        known = self._current.get(scope)
        if known is not None:
            return known, self._cache[(scope, known)]
        key_id, key = await self._db.transact(lambda c: self._current_tx(c, scope))
        self._current[scope] = key_id
        self._cache[(scope, key_id)] = key
        return key_id, key

    def _current_tx(self, conn: sqlite3.Connection, scope: str) -> tuple[str, bytes]:
        self._alive(conn, scope)
        row = conn.execute(
            "SELECT k.key_id, k.wrapped, k.generation FROM current_keys c JOIN client_keys k "
            "ON k.scope = c.scope AND k.key_id = c.key_id WHERE c.scope = ?",
            (scope,),
        ).fetchone()
        if row is not None:
            return row[0], self._unwrap_row(conn, scope, *row)
        return self._new_key(conn, scope)

    def _new_key(self, conn: sqlite3.Connection, scope: str) -> tuple[str, bytes]:
        count = conn.execute(
            "SELECT count(*) FROM client_keys WHERE scope = ?", (scope,)
        ).fetchone()[0]
        key_id = f"k{count + 1}"
        key = os.urandom(32)
        generation, store_key = self._newest_store_key(conn, scope)
        conn.execute(
            "INSERT INTO client_keys (scope, key_id, wrapped, created_at, generation) "
            "VALUES (?, ?, ?, ?, ?)",
            (scope, key_id, _wrap(store_key, key, _aad(scope, key_id)), int(time.time()),
             generation),
        )  # fmt: skip
        conn.execute("INSERT OR REPLACE INTO current_keys VALUES (?, ?)", (scope, key_id))
        return key_id, key

    def _read_key(self, conn: sqlite3.Connection, scope: str, key_id: str) -> bytes:
        self._alive(conn, scope)
        row = conn.execute(
            "SELECT wrapped, generation FROM client_keys WHERE scope = ? AND key_id = ?",
            (scope, key_id),
        ).fetchone()
        if row is None:
            raise KeyUnavailable(scope, f"no key {key_id!r}")
        return self._unwrap_row(conn, scope, key_id, *row)

    @staticmethod
    def _alive(conn: sqlite3.Connection, scope: str) -> None:
        if conn.execute("SELECT 1 FROM destroyed WHERE scope = ?", (scope,)).fetchone():
            raise KeyUnavailable(scope, _ERASED)

    async def get(self, scope: str, key_id: str, /) -> bytes:
        """A key by id (cached after the first read, and dropped from the cache once any
        process erased the scope)."""
        await self._sync()
        self._refuse_erased(scope)
        key = self._cache.get((scope, key_id))
        if key is not None:
            return key

        key = await self._db.query(lambda conn: self._read_key(conn, scope, key_id))
        self._cache[(scope, key_id)] = key
        return key

    async def get_many(
        self, wanted: Collection[tuple[str, str]], /
    ) -> dict[tuple[str, str], bytes]:
        """Keys by ``(scope, key_id)``: those not cached are read in one go."""
        await self._sync()
        for scope, _key_id in wanted:
            self._refuse_erased(scope)
        found = {pair: self._cache[pair] for pair in wanted if pair in self._cache}
        missing = [pair for pair in wanted if pair not in found]
        if missing:

            def read(conn: sqlite3.Connection) -> dict[tuple[str, str], bytes]:
                return {pair: self._read_key(conn, *pair) for pair in missing}

            fetched = await self._db.query(read)
            self._cache.update(fetched)
            found.update(fetched)
        return found

    async def rotate(self, scope: str, /) -> str:
        """Make a new key version current; older versions stay readable."""

        await self._sync()
        self._refuse_erased(scope)

        def tx(conn: sqlite3.Connection) -> tuple[str, bytes]:
            self._alive(conn, scope)
            return self._new_key(conn, scope)

        key_id, key = await self._db.transact(tx)
        self._current[scope] = key_id
        self._cache[(scope, key_id)] = key
        return key_id

    async def destroy(self, scope: str, /) -> None:
        """Crypto-shred ``scope``: its keys are overwritten and the WAL truncated; the erasure
        is recorded in ``erasures``, which every process reads before it uses a key."""

        def tx(conn: sqlite3.Connection) -> None:
            now = int(time.time())
            conn.execute("DELETE FROM client_keys WHERE scope = ?", (scope,))
            conn.execute("DELETE FROM current_keys WHERE scope = ?", (scope,))
            conn.execute("INSERT OR IGNORE INTO destroyed VALUES (?, ?)", (scope, now))
            conn.execute("INSERT OR IGNORE INTO erasures (scope, at) VALUES (?, ?)", (scope, now))

        await self._db.transact(tx)
        if not await self._db.run(self._checkpoint):
            log.warning(
                "the keys of %s are deleted, but another connection to %s kept its write-ahead"
                " log from being emptied: it is emptied as soon as that connection lets go",
                scope,
                self._path.name,
            )
        await self._sync()

    async def blind_index_key(self) -> bytes:
        """The key of the keyed blind index (stored wrapped like a client key)."""
        if self._closed:
            raise UsageError("the key store is closed")
        if self._index_key is None:
            self._index_key = await self._get_or_create(_BLIND_SCOPE)
        return self._index_key

    async def aclose(self) -> None:
        """Close the database (emptying the write-ahead log first if it still holds keys)."""
        if self._closed:
            return
        self._closed = True
        self._cache.clear()
        if self._lingering:
            with contextlib.suppress(Exception):
                await self._db.run(self._checkpoint, False)
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await self._db.close()
