"""Writes of the SQLite message repository: new messages in batches (with idempotency keys)
and erasure of a client. Compare-and-set updates are in ``updates``, row layout in ``rows``."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence

from contos_messaging.adapters.sqlite.codec import id_bytes, id_text
from contos_messaging.adapters.sqlite.rows import Batch, MessageRows
from contos_messaging.domain.ids import check_idempotency_keys
from contos_messaging.domain.message import Message
from contos_messaging.domain.send_log import AuditEvent
from contos_messaging.errors import AlreadyExists

__all__ = ["MessageWrites"]


class _DuplicateId(Exception):
    """An id of the batch is taken; :meth:`add` finds which one after the rollback."""


class MessageWrites(MessageRows):
    """The inserting half of :class:`~contos_messaging.adapters.sqlite.SQLiteMessageRepository`:
    new messages and erasure."""

    # -- writes ------------------------------------------------------------------------------

    @staticmethod
    def _insert(conn: sqlite3.Connection, batch: Batch) -> int:
        """Insert a prepared batch: one statement per table; returns the first row's seq."""
        try:
            conn.executemany(
                "INSERT INTO messages (id, channel, status, created_by, created_at,"
                " updated_at, scheduled_at, expires_at, next_attempt_at, attempts, version,"
                " template_name, template_version, key_scope, due_at, content, queued_by,"
                " queued_at, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                batch.rows,
            )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise _DuplicateId from exc
            raise
        # Under the write lock one statement gives consecutive rowids ending at the last one.
        first: int = conn.execute("SELECT last_insert_rowid()").fetchone()[0] - len(batch.rows) + 1
        MessageRows._insert_refs(conn, batch, first)
        return first

    async def add(
        self,
        messages: Sequence[Message],
        /,
        *,
        events: Sequence[AuditEvent] = (),
        idempotency_keys: Sequence[str | None] = (),
    ) -> dict[str, str]:
        """Store new messages and events in one transaction; messages whose idempotency key
        is stored already are left out and mapped to the stored message's id."""
        keys = check_idempotency_keys(messages, idempotency_keys)
        digests = [None if k is None else self._idempotency_digest(k) for k in keys]
        scopes = {m.key_scope for m in messages}
        current_keys = await self._current_keys(scopes)
        await self._ensure_kinds({link.kind for m in messages for link in m.links})

        batch = self._prepare(messages, current_keys)

        def tx(conn: sqlite3.Connection) -> dict[str, str]:
            taken = self._taken_keys(conn, messages, digests)
            if taken:
                keep = [i for i, m in enumerate(messages) if m.id not in taken]
                todo, kept_digests = batch.subset(keep), [digests[i] for i in keep]
                todo_events = [e for e in events if e.subject not in taken]
            else:
                todo, kept_digests, todo_events = batch, digests, list(events)
            if todo.rows:
                first = self._insert(conn, todo)
                conn.executemany(
                    "INSERT INTO idempotency VALUES (?, ?)",
                    [(d, first + i) for i, d in enumerate(kept_digests) if d is not None],
                )
            self._insert_events(conn, todo_events)
            return taken

        try:
            return await self._db.transact(tx)
        except _DuplicateId:
            raise AlreadyExists(await self._taken_id(messages)) from None

    def _idempotency_digest(self, key: str) -> bytes:
        return hashlib.blake2b(
            key.encode("utf-8"), key=self._blind_key, digest_size=16, person=b"idempotency"
        ).digest()

    @staticmethod
    def _taken_keys(
        conn: sqlite3.Connection, messages: Sequence[Message], digests: Sequence[bytes | None]
    ) -> dict[str, str]:
        """``{new id: stored id}`` of messages whose key is stored (or repeated in the batch)."""
        taken: dict[str, str] = {}
        first_in_batch: dict[bytes, str] = {}
        for message, digest in zip(messages, digests, strict=True):
            if digest is None:
                continue
            row = conn.execute(
                "SELECT m.id FROM idempotency i JOIN messages m ON m.seq = i.seq"
                " WHERE i.digest = ?",
                (digest,),
            ).fetchone()
            if row is not None:
                taken[message.id] = id_text(row[0])
            elif digest in first_in_batch:
                taken[message.id] = first_in_batch[digest]
            else:
                first_in_batch[digest] = message.id
        return taken

    async def _taken_id(self, messages: Sequence[Message]) -> str:
        seen: set[str] = set()
        for message in messages:
            if message.id in seen:
                return message.id
            seen.add(message.id)
        raws = [id_bytes(m.id) for m in messages]

        def read(conn: sqlite3.Connection) -> str:
            for start in range(0, len(raws), 500):
                chunk = raws[start : start + 500]
                marks = ",".join("?" * len(chunk))
                row = conn.execute(
                    f"SELECT id FROM messages WHERE id IN ({marks})", chunk
                ).fetchone()
                if row:
                    return id_text(row[0])
            return messages[0].id

        return await self._db.query(read)

    async def erase_scope(self, scope: str, /, *, tombstone: AuditEvent) -> list[str]:
        """Delete the scope's messages, links, index rows and send log; append the tombstone."""

        def tx(conn: sqlite3.Connection) -> list[str]:
            if scope == "":
                rows = conn.execute("SELECT seq, id FROM messages WHERE key_scope = ''").fetchall()
            else:
                rows = conn.execute(
                    "SELECT m.seq, m.id FROM links l JOIN messages m ON m.seq = l.seq"
                    " WHERE l.kind = 1 AND l.entity_id = ? AND m.key_scope = ?",
                    (scope, scope),
                ).fetchall()
            for seq, _raw_id in rows:
                for table in (
                    "links", "address_index", "attachment_refs", "idempotency", "provider_refs"
                ):  # fmt: skip
                    conn.execute(f"DELETE FROM {table} WHERE seq = ?", (seq,))
                conn.execute("DELETE FROM attempts WHERE message_seq = ?", (seq,))
                conn.execute("DELETE FROM deliveries WHERE message_seq = ?", (seq,))
                conn.execute("DELETE FROM messages WHERE seq = ?", (seq,))
            self._insert_events(conn, [tombstone])
            return [id_text(raw_id) for _seq, raw_id in rows]

        erased = await self._db.transact(tx)
        # (its one row read at once: a cursor with a row unread keeps its statement in progress,
        # and a COMMIT on the connection fails until the cursor is freed)
        await self._db.run(
            lambda: self._db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        )
        for cached in [k for k in self._key_cache if k[0] == scope]:
            del self._key_cache[cached]
        return erased
