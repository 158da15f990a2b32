"""SQLiteMessageRepository: metadata in columns, content sealed in the same row.

Clear columns hold only ids, states, times, key scopes and keyed blind-index hashes. Subject,
bodies, sender, recipients, attachment names, links and send-log replies are sealed (zstd with a
dictionary trained on synthetic renders, then AES-256-GCM under the client's key) before they
reach SQLite. Content and metadata commit in one transaction, so a row never points at missing
content. See docs/architecture.md for why message content is not a separate file.

The class is assembled from its parts: ``base`` (state, keys, opening sealed rows), ``rows``
(row layout), ``writes`` (new messages, erasure), ``updates`` (compare-and-set),
``deliveries`` (delivery reports), ``leases``, ``reads`` and ``templates``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from contos_messaging.adapters._shared.sealing import Sealer
from contos_messaging.adapters.sqlite.db import SQLiteWorker
from contos_messaging.adapters.sqlite.deliveries import MessageDeliveries
from contos_messaging.adapters.sqlite.leases import MessageLeases
from contos_messaging.adapters.sqlite.reads import MessageReads
from contos_messaging.adapters.sqlite.schema import (
    DEFAULT_DICTIONARY_ID,
    MIGRATIONS,
    default_dictionary,
)
from contos_messaging.adapters.sqlite.templates import TemplateTables
from contos_messaging.adapters.sqlite.updates import MessageUpdates
from contos_messaging.adapters.sqlite.writes import MessageWrites
from contos_messaging.ports import KeyStore

__all__ = ["SQLiteMessageRepository"]


class SQLiteMessageRepository(
    MessageWrites, MessageDeliveries, MessageUpdates, MessageLeases, MessageReads, TemplateTables
):
    """Message repository in one SQLite file (WAL), content sealed under per-client keys.

    Open with ``await SQLiteMessageRepository.open(path, keys=key_store)``; the schema is
    created or migrated on open. Safe for several processes on one file.
    """

    def __init__(self, path: Path, keys: KeyStore) -> None:
        self._db = SQLiteWorker(path, migrations=MIGRATIONS, name="messages")
        self._keys = keys
        self._sealer = Sealer()  # seals on the caller's (event-loop) thread
        self._opener = Sealer()  # opens on the database thread; zstd contexts are per thread
        self._path = path
        # Small reads (a page of messages) run on the caller's thread over a read-only
        # connection: no hop to the database thread and back (see _read_inline).
        self._reader: sqlite3.Connection | None = None
        self._reader_opener = Sealer()
        self._key_cache: dict[tuple[str, str], bytes] = {}
        self._blind_key = b""
        self._kinds: dict[str, int] = {}

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *, keys: KeyStore) -> SQLiteMessageRepository:
        """Open (or create) the repository at ``path``."""
        repo = cls(Path(path), keys)
        await repo._db.start()
        try:
            repo._blind_key = await keys.blind_index_key()
            await repo._load_kinds()
            await repo._load_dictionaries()
        except BaseException:
            await repo._db.close()
            raise
        return repo

    async def _load_dictionaries(self) -> None:
        rows = await self._db.query(
            lambda c: c.execute("SELECT id, data FROM dictionaries ORDER BY id").fetchall()
        )
        if not rows:
            data = default_dictionary()

            def insert(conn: sqlite3.Connection) -> list[tuple[int, bytes]]:
                conn.execute(
                    "INSERT OR IGNORE INTO dictionaries VALUES (?, ?, ?, strftime('%s','now'))",
                    (DEFAULT_DICTIONARY_ID, data, "synthetic ContOS e-mails"),
                )
                return conn.execute("SELECT id, data FROM dictionaries ORDER BY id").fetchall()

            rows = await self._db.transact(insert)
        for dict_id, data in rows:
            for sealer in (self._sealer, self._opener, self._reader_opener):
                sealer.add_dictionary(dict_id, data, default=True)

    async def checkpoint(self) -> None:
        """Fold the WAL into the database file (for backups and size measurements)."""
        # (its one row read at once: a cursor with a row unread keeps its statement in progress,
        # and a COMMIT on the connection fails until the cursor is freed)
        await self._db.run(
            lambda: self._db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        )

    async def aclose(self) -> None:
        """Close the database."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await self._db.close()
