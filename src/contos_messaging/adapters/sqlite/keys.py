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

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contos_messaging.adapters.sqlite.db import SQLiteWorker
from contos_messaging.adapters.sqlite.wrapping import (
    ENV_MASTER_KEY,
    ENV_MASTER_KEY_FILE,
    check_before_opening,
    check_legacy_master,
    load_master_key,
)
from contos_messaging.adapters.sqlite.wrapping import aad as _aad
from contos_messaging.adapters.sqlite.wrapping import bridge_aad as _bridge_aad
from contos_messaging.adapters.sqlite.wrapping import store_aad as _store_aad
from contos_messaging.adapters.sqlite.wrapping import unwrap as _unwrap
from contos_messaging.adapters.sqlite.wrapping import wrap as _wrap
from contos_messaging.errors import ConfigurationError, KeyUnavailable, StorageError, UsageError
from contos_messaging.ports.keys import CLIENT_ERASED

__all__ = ["ENV_MASTER_KEY", "ENV_MASTER_KEY_FILE", "SQLiteKeyStore", "load_master_key"]

log = logging.getLogger("contos_messaging")

_BLIND_SCOPE = "\x00blind-index"
_STORE_SCOPE = "the store key"
_ROTATED = (
    "the master key was rotated and the rotation finished; this process still runs with the old"
    " master key: open the store again with the new one"
)

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


class SQLiteKeyStore:
    """Key store in ``keys.sqlite``: random 32-byte keys per scope, wrapped with the master key.

    Open with ``await SQLiteKeyStore.open(path, master_key)``.
    """

    #: How long emptying the write-ahead log after an erasure or a rotation waits for another
    #: connection's read to end (milliseconds); it is tried again at the next use if that was
    #: not long enough.
    CHECKPOINT_WAIT_MS = 2000

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

    def _check_master(self, conn: sqlite3.Connection) -> None:
        """Unwrap the newest store key with the master key (a store from before store keys, or
        a new one, gets its first)."""
        row = conn.execute(
            "SELECT generation, under_master FROM store_keys ORDER BY generation DESC LIMIT 1"
        ).fetchone()
        if row is None:
            self._first_store_key(conn)
            return
        generation, wrapped = row
        try:
            if wrapped is None:
                raise InvalidTag
            key = _unwrap(self._master, wrapped, _store_aad(generation))
        except InvalidTag:
            raise ConfigurationError(
                f"the master key does not open the key store {self._db.path} (after a master"
                " key rotation, only the new key opens it); nothing was changed"
            ) from None
        self._store_keys[generation] = AESGCM(key)

    def _first_store_key(self, conn: sqlite3.Connection) -> None:
        check_legacy_master(conn, self._master, self._path)
        key = os.urandom(32)
        conn.execute(
            "INSERT INTO store_keys VALUES (1, ?, NULL, ?)",
            (_wrap(self._master, key, _store_aad(1)), int(time.time())),
        )
        self._store_keys[1] = store_key = AESGCM(key)
        # Keys wrapped under the master key itself (before store keys) move under it; one that
        # does not unwrap stays as it is, and reports itself corrupted when it is read.
        rows = conn.execute(
            "SELECT scope, key_id, wrapped FROM client_keys WHERE generation = 0"
        ).fetchall()
        for scope, key_id, wrapped in rows:
            try:
                client_key = _unwrap(self._master, wrapped, _aad(scope, key_id))
            except InvalidTag:
                continue
            conn.execute(
                "UPDATE client_keys SET wrapped = ?, generation = 1 WHERE scope = ? AND key_id = ?",
                (_wrap(store_key, client_key, _aad(scope, key_id)), scope, key_id),
            )
        conn.execute("DELETE FROM meta WHERE name = 'check'")

    def _store_key(self, conn: sqlite3.Connection, generation: int, scope: str) -> AESGCM:
        """The store key of ``generation``: known already, wrapped under this handle's master
        key (made by another process's finished rotation), or reached over the bridges from
        the newest one known (another process's rotation); generation 0 is the master key."""
        known = self._store_keys.get(generation)
        if known is not None:
            return known
        if generation == 0:
            return self._master
        row = conn.execute(
            "SELECT under_master FROM store_keys WHERE generation = ?", (generation,)
        ).fetchone()
        if row is not None and row[0] is not None:
            with contextlib.suppress(InvalidTag):
                key = AESGCM(_unwrap(self._master, row[0], _store_aad(generation)))
                self._store_keys[generation] = key
                return key
        newest = max(self._store_keys, default=0)
        if generation < newest:  # (every key moves to the newest generation when it is made)
            raise KeyUnavailable(scope, f"no store key of generation {generation}")
        bridges = conn.execute(
            "SELECT generation, under_previous FROM store_keys "
            "WHERE generation > ? AND generation <= ? ORDER BY generation",
            (newest, generation),
        ).fetchall()
        key = self._store_keys.get(newest, self._master)
        for step, (bridge_generation, bridge) in enumerate(bridges, start=newest + 1):
            if bridge_generation != step or bridge is None:
                break
            try:
                key = AESGCM(_unwrap(key, bridge, _bridge_aad(step)))
            except InvalidTag:
                raise KeyUnavailable(scope, "a store key does not unwrap (corrupted)") from None
            self._store_keys[step] = key
        if generation not in self._store_keys:
            raise KeyUnavailable(scope, _ROTATED)
        return self._store_keys[generation]

    def _newest_store_key(self, conn: sqlite3.Connection, scope: str) -> tuple[int, AESGCM]:
        (generation,) = conn.execute("SELECT max(generation) FROM store_keys").fetchone()
        return generation, self._store_key(conn, generation, scope)

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

    def _unwrap_row(
        self, conn: sqlite3.Connection, scope: str, key_id: str, wrapped: bytes, generation: int
    ) -> bytes:
        store_key = self._store_key(conn, generation, scope)
        try:
            return _unwrap(store_key, wrapped, _aad(scope, key_id))
        except InvalidTag:
            raise KeyUnavailable(scope, f"key {key_id} does not unwrap (corrupted)") from None

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

    def _ours(self, conn: sqlite3.Connection, master: AESGCM | None = None) -> int:
        """The newest generation, checked to be wrapped under ``master`` (this handle's master
        key when the caller started; another rotation since would have put it under another):
        ConfigurationError otherwise."""
        generation, wrapped = conn.execute(
            "SELECT generation, under_master FROM store_keys ORDER BY generation DESC LIMIT 1"
        ).fetchone()
        try:
            if wrapped is None:
                raise InvalidTag
            key = AESGCM(_unwrap(master or self._master, wrapped, _store_aad(generation)))
        except InvalidTag:
            raise ConfigurationError(
                "another master key rotation has put the store under another key since this"
                " process opened it; nothing was changed: open the store with that key"
            ) from None
        self._store_keys.setdefault(generation, key)
        return int(generation)

    def _rewrap_all(self, conn: sqlite3.Connection, generation: int, store_key: AESGCM) -> int:
        rows = conn.execute("SELECT scope, key_id, wrapped, generation FROM client_keys").fetchall()
        for scope, key_id, wrapped, was in rows:
            key = self._unwrap_row(conn, scope, key_id, wrapped, was)
            conn.execute(
                "UPDATE client_keys SET wrapped = ?, generation = ? WHERE scope = ? AND key_id = ?",
                (_wrap(store_key, key, _aad(scope, key_id)), generation, scope, key_id),
            )
        return len(rows)

    async def rotate_master(self, new_master_key: bytes, /, *, finish: bool = False) -> int:
        """Wrap every client key under a new store key, and that under ``new_master_key``, in
        one transaction, with the store open; returns how many keys were re-wrapped. Messages
        are not rewritten (they are sealed with the client keys, which do not change).

        From then on only ``new_master_key`` opens the key store. Other processes opened with
        the old master key keep working (over the bridge to the new store key) until
        :meth:`finish_master_rotation`; with ``finish``, no bridge is made (no other process
        is using the store). A rotation made by another handle since this one was opened
        (or last rotated) stops this one: ConfigurationError, nothing changed. StorageError
        after the rotation when another connection kept the write-ahead log from being
        emptied (see :meth:`finish_master_rotation`)."""
        if not isinstance(new_master_key, bytes) or len(new_master_key) != 32:
            raise ConfigurationError("the master key from new_master_key must be 32 bytes")
        raw = new_master_key
        if raw == self._master_key:
            raise ConfigurationError("the new master key is the one the store is opened with")
        new, expected = AESGCM(raw), self._master
        await self._sync()

        def tx(conn: sqlite3.Connection) -> tuple[int, int, AESGCM]:
            newest = self._ours(conn, expected)
            old_store_key = self._store_key(conn, newest, _STORE_SCOPE)
            generation = newest + 1
            store_raw = os.urandom(32)
            store_key = AESGCM(store_raw)
            count = self._rewrap_all(conn, generation, store_key)
            bridge = None if finish else _wrap(old_store_key, store_raw, _bridge_aad(generation))
            conn.execute(
                "INSERT INTO store_keys VALUES (?, ?, ?, ?)",
                (generation, _wrap(new, store_raw, _store_aad(generation)), bridge,
                 int(time.time())),
            )  # fmt: skip
            conn.execute(
                "UPDATE store_keys SET under_master = NULL WHERE generation < ?", (generation,)
            )
            if finish:
                conn.execute("DELETE FROM store_keys WHERE generation < ?", (generation,))
            # Known at once to this handle's next transactions; undone if the commit fails.
            switched.append((self._master_key, self._master))
            self._master_key, self._master = raw, new
            self._store_keys[generation] = store_key
            return count, generation, store_key

        switched: list[tuple[bytes, AESGCM]] = []
        try:
            count, _generation, _store_key = await self._db.transact(tx)
        except BaseException:
            if switched:
                self._master_key, self._master = switched[0]
            raise
        await self._flush_wal(
            "the master key was rotated (only the new key opens the store now), but"
        )
        return count

    def _finish_tx(self, conn: sqlite3.Connection) -> int:
        """Replace the newest store key, which a bridge exposed, by a fresh one under the same
        master key, without a bridge, and delete every older one."""
        bridges: int = conn.execute(
            "SELECT count(*) FROM store_keys WHERE under_previous IS NOT NULL"
        ).fetchone()[0]
        if not bridges:
            return 0
        generation = self._ours(conn) + 1
        store_raw = os.urandom(32)
        store_key = AESGCM(store_raw)
        self._rewrap_all(conn, generation, store_key)
        conn.execute(
            "INSERT INTO store_keys VALUES (?, ?, NULL, ?)",
            (generation, _wrap(self._master, store_raw, _store_aad(generation)), int(time.time())),
        )
        conn.execute("DELETE FROM store_keys WHERE generation < ?", (generation,))
        self._store_keys = {generation: store_key}
        return bridges

    async def finish_master_rotation(self) -> int:
        """End the rotations so far (once every process runs with the new master key): the
        client keys move under a fresh store key that no bridge ever exposed, and every older
        store key and bridge is deleted; returns how many rotations were ended. A process still
        running with an older master key then uses only the keys it holds in memory. Called
        again, it empties the write-ahead log if another connection kept it from that before
        (StorageError says so)."""
        count = await self._db.transact(self._finish_tx)
        await self._flush_wal("the master key rotation was finished, but")
        return count

    def _checkpoint(self, wait: bool = True) -> bool:
        """Move the WAL into the file and truncate it, so that overwritten keys leave no copy
        there; False when another connection's read kept it from being done (``wait``: for
        the busy timeout, else not at all)."""
        conn = self._db.conn
        timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        conn.execute(f"PRAGMA busy_timeout = {int(self.CHECKPOINT_WAIT_MS) if wait else 0}")
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        self._lingering = bool(busy)
        return not busy

    async def _flush_wal(self, done: str) -> None:
        if not await self._db.run(self._checkpoint):
            raise StorageError(
                f"{done} another connection to {self._path.name} (a backup or another tool"
                " reading it) kept its write-ahead log from being emptied, so the log still"
                " holds what was overwritten; call finish_master_key_rotation() again once"
                " that connection is closed"
            )

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
