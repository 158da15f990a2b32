"""Writes of the SQLite message repository: new messages in batches (with idempotency keys),
compare-and-set updates with their send-log entries and audit events, erasure of a client."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from contos_messaging.adapters.sqlite.base import MessageTables
from contos_messaging.adapters.sqlite.codec import (
    CHANNEL_CODE,
    STATUS_CODE,
    encode_attempt_content,
    encode_content,
    id_bytes,
    id_text,
    to_us,
)
from contos_messaging.adapters.sqlite.schema import ATTEMPT_INSERT_COLUMNS
from contos_messaging.domain.addresses import EmailRecipients
from contos_messaging.domain.ids import check_idempotency_keys
from contos_messaging.domain.integrity import Update
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.send_log import AuditEvent, SendAttempt
from contos_messaging.errors import (
    AlreadyExists,
    ConcurrentModification,
    InvalidInput,
    MessageNotFound,
)

__all__ = ["MessageWrites"]

_S = MessageStatus


@attrs.define
class _Batch:
    """Rows of a batch of new messages; link, address and attachment rows refer to a message
    by its index in ``rows``."""

    rows: list[tuple[Any, ...]] = attrs.Factory(list)
    links: list[tuple[int, str, int]] = attrs.Factory(list)
    addresses: list[tuple[bytes, int]] = attrs.Factory(list)
    attachments: list[tuple[str, str, int]] = attrs.Factory(list)

    def subset(self, keep: Sequence[int]) -> _Batch:
        """The rows of the messages at the indices ``keep`` (in order), renumbered."""
        new_index = {old: new for new, old in enumerate(keep)}
        return _Batch(
            [self.rows[i] for i in keep],
            [(k, e, new_index[i]) for k, e, i in self.links if i in new_index],
            [(d, new_index[i]) for d, i in self.addresses if i in new_index],
            [(s, k, new_index[i]) for s, k, i in self.attachments if i in new_index],
        )


class _DuplicateId(Exception):
    """An id of the batch is taken; :meth:`add` finds which one after the rollback."""


def due_at(message: Message, lease_until: datetime | None = None) -> int | None:
    if message.status is _S.QUEUED:
        return to_us(message.scheduled_at) or 0
    if message.status is _S.DEFERRED:
        return to_us(message.next_attempt_at) or 0
    if message.status is _S.SENDING:
        # Leased until then; SENDING without a lease is nobody's: due at once (taken back).
        return to_us(lease_until) if lease_until is not None else 0
    return None


def _addresses(message: Message) -> list[str]:
    recipients = message.recipients
    if isinstance(recipients, EmailRecipients):
        return [a.addr_spec for a in recipients.all]
    return list(recipients.envelope)


class MessageWrites(MessageTables):
    """The writing half of :class:`~contos_messaging.adapters.sqlite.SQLiteMessageRepository`."""

    # -- writes ------------------------------------------------------------------------------

    def _prepare(self, messages: Sequence[Message], keys: dict[str, tuple[str, bytes]]) -> _Batch:
        """Seal and lay out a batch of new messages (CPU only, off the database thread)."""
        batch = _Batch()
        kinds = self._kinds
        for index, message in enumerate(messages):
            raw_id = id_bytes(message.id)  # validates the canonical form
            scope = message.key_scope
            key_id, key = keys[scope]
            sealed = self._sealer.seal(
                encode_content(message),
                object_id="message:" + message.id.lower(),
                scope=scope,
                key_id=key_id,
                key=key,
            )
            template = message.template
            created = to_us(message.created_at)
            updated = to_us(message.updated_at)
            batch.rows.append(
                (
                    raw_id,
                    CHANNEL_CODE[message.channel],
                    STATUS_CODE[message.status],
                    message.created_by,
                    created,
                    None if updated == created else updated,
                    to_us(message.scheduled_at),
                    to_us(message.expires_at),
                    to_us(message.next_attempt_at),
                    message.attempts,
                    message.version,
                    template.name if template else None,
                    template.version if template else None,
                    scope,
                    due_at(message),
                    sealed,
                    message.queued_by,
                    to_us(message.queued_at),
                )
            )
            batch.links += [(kinds[link.kind], link.id, index) for link in message.links]
            batch.addresses += [(self._blind(a), index) for a in _addresses(message)]
            batch.attachments += [(scope, a.sha256, index) for a in message.attachments]
        return batch

    @staticmethod
    def _insert(conn: sqlite3.Connection, batch: _Batch) -> int:
        """Insert a prepared batch: one statement per table; returns the first row's seq."""
        try:
            conn.executemany(
                "INSERT INTO messages (id, channel, status, created_by, created_at,"
                " updated_at, scheduled_at, expires_at, next_attempt_at, attempts, version,"
                " template_name, template_version, key_scope, due_at, content, queued_by,"
                " queued_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                batch.rows,
            )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise _DuplicateId from exc
            raise
        # Under the write lock one statement gives consecutive rowids ending at the last one.
        first: int = conn.execute("SELECT last_insert_rowid()").fetchone()[0] - len(batch.rows) + 1
        MessageWrites._insert_refs(conn, batch, first)
        return first

    @staticmethod
    def _insert_refs(conn: sqlite3.Connection, batch: _Batch, first: int) -> None:
        """Link, blind-index and attachment rows of a batch whose first message is ``first``."""
        conn.executemany(
            "INSERT OR IGNORE INTO links VALUES (?, ?, ?)",
            [(kind, entity, first + i) for kind, entity, i in batch.links],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO address_index VALUES (?, ?)",
            [(digest, first + i) for digest, i in batch.addresses],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO attachment_refs VALUES (?, ?, ?)",
            [(scope, key, first + i) for scope, key, i in batch.attachments],
        )

    def _insert_events(self, conn: sqlite3.Connection, events: Sequence[AuditEvent]) -> None:
        conn.executemany(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    e.id,
                    to_us(e.at),
                    e.actor_id,
                    e.action.value,
                    e.subject,
                    json.dumps(dict(e.details), ensure_ascii=False, sort_keys=True),
                )
                for e in events
            ],
        )

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

    async def update(
        self,
        message: Message,
        /,
        *,
        expected: Message,
        attempt: SendAttempt | None = None,
        events: Sequence[AuditEvent] = (),
        lease_token: str | None = None,
    ) -> None:
        """Compare-and-set one message; append its attempt and events in the same transaction."""
        change = Update(message, expected, attempt, tuple(events), lease_token)
        prepared = await self._prepare_update(change)

        def tx(conn: sqlite3.Connection) -> None:
            self._apply(conn, change, *prepared)

        await self._db.transact(tx)

    async def update_many(self, updates: Sequence[Update], /) -> list[str]:
        """Apply several updates in one transaction (one commit); those whose compare-and-set
        fails are skipped and their ids returned."""
        prepared = [(change, await self._prepare_update(change)) for change in updates]

        def tx(conn: sqlite3.Connection) -> list[str]:
            failed = []
            for change, parts in prepared:
                try:
                    self._apply(conn, change, *parts)
                except (ConcurrentModification, MessageNotFound):
                    failed.append(change.message.id)
            return failed

        return await self._db.transact(tx)

    async def _prepare_update(self, change: Update) -> tuple[_Batch | None, bytes]:
        """Seal what the update writes (on the caller's thread, like new messages)."""
        message, expected, attempt = change.message, change.expected, change.attempt
        if message.id != expected.id:
            raise InvalidInput("update must keep the message id")
        scope = message.key_scope
        key_id, key = (await self._current_keys({scope}))[scope]
        content_changed = (
            message.version != expected.version
            or message.links != expected.links
            or message.recipients != expected.recipients
        )
        batch: _Batch | None = None
        if content_changed:
            await self._ensure_kinds({link.kind for link in message.links})
            batch = self._prepare([message], {scope: (key_id, key)})
        sealed_attempt = (
            self._sealer.seal(
                encode_attempt_content(attempt),
                object_id="attempt:" + attempt.id,
                scope=scope,
                key_id=key_id,
                key=key,
            )
            if attempt is not None
            else b""
        )
        return batch, sealed_attempt

    def _apply(
        self, conn: sqlite3.Connection, change: Update, batch: _Batch | None, sealed: bytes
    ) -> None:
        message, expected = change.message, change.expected
        row = conn.execute(
            "SELECT seq, status, version, attempts, lease_token FROM messages WHERE id = ?",
            (id_bytes(message.id),),
        ).fetchone()
        if row is None:
            raise MessageNotFound(message.id)
        seq = row[0]
        if tuple(row[1:4]) != (STATUS_CODE[expected.status], expected.version, expected.attempts):
            raise ConcurrentModification(message.id)
        if change.lease_token is not None and row[4] != change.lease_token:
            raise ConcurrentModification(message.id)
        sets = (
            "status=?, updated_at=?, scheduled_at=?, expires_at=?, next_attempt_at=?,"
            " attempts=?, version=?, due_at=?, lease_owner=NULL, lease_token=NULL,"
            " queued_by=?, queued_at=?"
        )
        values: list[Any] = [
            STATUS_CODE[message.status],
            to_us(message.updated_at),
            to_us(message.scheduled_at),
            to_us(message.expires_at),
            to_us(message.next_attempt_at),
            message.attempts,
            message.version,
            due_at(message),
            message.queued_by,
            to_us(message.queued_at),
        ]
        if batch is not None:
            sets += ", key_scope=?, content=?"
            values += [message.key_scope, batch.rows[0][15]]
            for table in ("links", "address_index", "attachment_refs"):
                conn.execute(f"DELETE FROM {table} WHERE seq = ?", (seq,))
            self._insert_refs(conn, batch, seq)
        conn.execute(f"UPDATE messages SET {sets} WHERE seq=?", (*values, seq))
        if change.attempt is not None:
            self._insert_attempt(conn, change.attempt, seq, message.key_scope, sealed)
        self._insert_events(conn, change.events)

    @staticmethod
    def _insert_attempt(
        conn: sqlite3.Connection, attempt: SendAttempt, seq: int, scope: str, sealed: bytes
    ) -> None:
        conn.execute(
            f"INSERT INTO attempts ({ATTEMPT_INSERT_COLUMNS})"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                attempt.id,
                seq,
                attempt.message_version,
                attempt.attempt_no,
                attempt.kind.value,
                attempt.actor_id,
                attempt.transport,
                to_us(attempt.started_at),
                to_us(attempt.finished_at),
                attempt.outcome.value,
                scope,
                sealed,
                attempt.queued_by,
                to_us(attempt.queued_at),
                attempt.worker,
            ),
        )

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
                for table in ("links", "address_index", "attachment_refs", "idempotency"):
                    conn.execute(f"DELETE FROM {table} WHERE seq = ?", (seq,))
                conn.execute("DELETE FROM attempts WHERE message_seq = ?", (seq,))
                conn.execute("DELETE FROM messages WHERE seq = ?", (seq,))
            self._insert_events(conn, [tombstone])
            return [id_text(raw_id) for _seq, raw_id in rows]

        erased = await self._db.transact(tx)
        await self._db.run(lambda: self._db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        for cached in [k for k in self._key_cache if k[0] == scope]:
            del self._key_cache[cached]
        return erased
