"""Compare-and-set updates of the SQLite message repository: one message or many in one
transaction, each with its send-log attempt and audit events; a leased row is written only by
the holder of its lease token."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from contos_messaging.adapters.sqlite.codec import (
    STATUS_CODE,
    encode_attempt_content,
    id_bytes,
    to_us,
)
from contos_messaging.adapters.sqlite.rows import Batch, MessageRows, due_at
from contos_messaging.adapters.sqlite.schema import ATTEMPT_INSERT_COLUMNS
from contos_messaging.domain.integrity import Update
from contos_messaging.domain.send_log import SendAttempt
from contos_messaging.errors import ConcurrentModification, InvalidInput, MessageNotFound

__all__ = ["MessageUpdates"]


class MessageUpdates(MessageRows):
    """The updating half of :class:`~contos_messaging.adapters.sqlite.SQLiteMessageRepository`."""

    async def update(self, change: Update, /) -> None:
        """Compare-and-set one message; append its attempt and events in the same transaction."""
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

    async def _prepare_update(self, change: Update) -> tuple[Batch | None, bytes]:
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
        batch: Batch | None = None
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
        self, conn: sqlite3.Connection, change: Update, batch: Batch | None, sealed: bytes
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
            " queued_by=?, queued_at=?, sent_at=?"
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
            to_us(message.sent_at),
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
        refs = [
            (attempt.transport, r.provider_id, seq)
            for r in attempt.recipients
            if r.accepted and r.provider_id
        ]
        if refs:
            conn.executemany("INSERT OR REPLACE INTO provider_refs VALUES (?, ?, ?)", refs)
