"""Rows of the SQLite message repository: new messages sealed and laid out as their rows (the
message row, link, blind-index and attachment rows) and the audit rows written beside them.
Shared by the inserting (``writes``) and updating (``updates``) parts."""

from __future__ import annotations

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
    encode_content,
    id_bytes,
    to_us,
)
from contos_messaging.domain.addresses import EmailRecipients
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.send_log import AuditEvent

__all__ = ["Batch", "MessageRows", "addresses_of", "due_at"]

_S = MessageStatus


@attrs.define
class Batch:
    """Rows of a batch of new messages; link, address and attachment rows refer to a message
    by its index in ``rows``."""

    rows: list[tuple[Any, ...]] = attrs.Factory(list)
    links: list[tuple[int, str, int]] = attrs.Factory(list)
    addresses: list[tuple[bytes, int]] = attrs.Factory(list)
    attachments: list[tuple[str, str, int]] = attrs.Factory(list)

    def subset(self, keep: Sequence[int]) -> Batch:
        """The rows of the messages at the indices ``keep`` (in order), renumbered."""
        new_index = {old: new for new, old in enumerate(keep)}
        return Batch(
            [self.rows[i] for i in keep],
            [(k, e, new_index[i]) for k, e, i in self.links if i in new_index],
            [(d, new_index[i]) for d, i in self.addresses if i in new_index],
            [(s, k, new_index[i]) for s, k, i in self.attachments if i in new_index],
        )


def due_at(message: Message, lease_until: datetime | None = None) -> int | None:
    """The ``due_at`` column of ``message``: when the outbox should look at it next."""
    if message.status is _S.QUEUED:
        return to_us(message.scheduled_at) or 0
    if message.status is _S.DEFERRED:
        return to_us(message.next_attempt_at) or 0
    if message.status is _S.SENDING:
        # Leased until then; SENDING without a lease is nobody's: due at once (taken back).
        return to_us(lease_until) if lease_until is not None else 0
    return None


def addresses_of(message: Message) -> list[str]:
    """The recipients' addresses (e-mail addr-specs or numbers) the blind index keys."""
    recipients = message.recipients
    if isinstance(recipients, EmailRecipients):
        return [a.addr_spec for a in recipients.all]
    return list(recipients.envelope)


class MessageRows(MessageTables):
    """Laying out and inserting rows, for the parts of
    :class:`~contos_messaging.adapters.sqlite.SQLiteMessageRepository` that write."""

    def _prepare(self, messages: Sequence[Message], keys: dict[str, tuple[str, bytes]]) -> Batch:
        """Seal and lay out a batch of new messages (CPU only, off the database thread)."""
        batch = Batch()
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
                    to_us(message.sent_at),
                )
            )
            batch.links += [(kinds[link.kind], link.id, index) for link in message.links]
            batch.addresses += [(self._blind(a), index) for a in addresses_of(message)]
            batch.attachments += [(scope, a.sha256, index) for a in message.attachments]
        return batch

    @staticmethod
    def _insert_refs(conn: sqlite3.Connection, batch: Batch, first: int) -> None:
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
