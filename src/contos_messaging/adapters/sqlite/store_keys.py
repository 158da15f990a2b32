"""The store-key layer of :class:`~contos_messaging.adapters.sqlite.SQLiteKeyStore`: the
master key wraps the newest *store key*, the store key wraps the client keys; opening checks
the master key against it, older generations are reached over bridges, and the master key is
rotated (and the rotation finished) with the store open. See ``keys.py`` for the whole
design."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contos_messaging.adapters.sqlite.db import SQLiteWorker
from contos_messaging.adapters.sqlite.wrapping import aad as _aad
from contos_messaging.adapters.sqlite.wrapping import bridge_aad as _bridge_aad
from contos_messaging.adapters.sqlite.wrapping import check_legacy_master
from contos_messaging.adapters.sqlite.wrapping import store_aad as _store_aad
from contos_messaging.adapters.sqlite.wrapping import unwrap as _unwrap
from contos_messaging.adapters.sqlite.wrapping import wrap as _wrap
from contos_messaging.errors import ConfigurationError, KeyUnavailable, StorageError

__all__ = ["StoreKeyLayer"]

_STORE_SCOPE = "the store key"
_ROTATED = (
    "the master key was rotated and the rotation finished; this process still runs with the old"
    " master key: open the store again with the new one"
)


class StoreKeyLayer:
    """Store keys and master-key rotation, mixed into ``SQLiteKeyStore`` (which holds the
    state annotated here)."""

    #: How long emptying the write-ahead log after an erasure or a rotation waits for another
    #: connection's read to end (milliseconds); it is tried again at the next use if that was
    #: not long enough.
    CHECKPOINT_WAIT_MS = 2000

    _db: SQLiteWorker
    _path: Path
    _master_key: bytes
    _master: AESGCM
    _store_keys: dict[int, AESGCM]
    _lingering: bool

    async def _sync(self) -> None:  # (SQLiteKeyStore's: the erasures of other processes)
        raise NotImplementedError

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

    def _unwrap_row(
        self, conn: sqlite3.Connection, scope: str, key_id: str, wrapped: bytes, generation: int
    ) -> bytes:
        store_key = self._store_key(conn, generation, scope)
        try:
            return _unwrap(store_key, wrapped, _aad(scope, key_id))
        except InvalidTag:
            raise KeyUnavailable(scope, f"key {key_id} does not unwrap (corrupted)") from None

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
