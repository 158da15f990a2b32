"""Leases of the SQLite message repository: the outbox's claims of due messages, claims of
chosen messages for sending now, renewals (the heartbeat of a running batch) and the check
made right before each delivery.

A lease lives in three columns: ``status`` is SENDING (``w``), ``lease_token`` names the holder
and ``due_at`` is when the lease ends (a SENDING row is due again once its lease has ended, so
the outbox takes it back). Every write that records an outcome compares the token (see
``updates._apply``), so a holder whose lease was taken over cannot write late.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from contos_messaging.adapters.sqlite.base import MessageTables
from contos_messaging.adapters.sqlite.codec import (
    CHANNEL_CODE,
    STATUS_CODE,
    from_us,
    id_bytes,
    to_us,
)
from contos_messaging.adapters.sqlite.schema import COLUMNS
from contos_messaging.domain.integrity import Claim, LeaseTerms
from contos_messaging.domain.message import Message, MessageStatus

__all__ = ["MessageLeases"]

_S = MessageStatus
_SENDING = STATUS_CODE[_S.SENDING]
_DUE_STATUSES = ("q", "r", "w")  # queued, deferred (retry), sending (lease may have ended)


def _take(
    conn: sqlite3.Connection, message: Message, terms: LeaseTerms, queued_by: str | None
) -> Claim:
    """Lease one message (its row already checked): SENDING, a fresh token, due at the end."""
    now, owner, lease_until = terms.now, terms.owner, terms.until
    previous = message
    if message.status is _S.SENDING:  # the lease ended: its holder is gone
        message = message.transition(_S.QUEUED, at=now)
    if queued_by is not None:
        message = message.queued_for_sending(queued_by, at=now)
    claimed = message.transition(_S.SENDING, at=now)
    token = secrets.token_hex(16)
    conn.execute(
        "UPDATE messages SET status=?, updated_at=?, attempts=?, next_attempt_at=NULL,"
        " due_at=?, lease_owner=?, lease_token=?, queued_by=?, queued_at=? WHERE id=?",
        (
            _SENDING,
            to_us(now),
            claimed.attempts,
            to_us(lease_until),
            owner,
            token,
            claimed.queued_by,
            to_us(claimed.queued_at),
            id_bytes(claimed.id),
        ),
    )
    return Claim(claimed, token, lease_until, previous)


class MessageLeases(MessageTables):
    """The leasing part of :class:`~contos_messaging.adapters.sqlite.SQLiteMessageRepository`."""

    async def claim_due(self, terms: LeaseTerms, /, *, limit: int = 100) -> list[Claim]:
        """Claim due messages (and ended leases) for ``terms.owner`` in one transaction."""
        now_us = to_us(terms.now)

        def tx(conn: sqlite3.Connection) -> list[Claim]:
            # Rows of a client erased by any process (an erasure that stopped after destroying
            # the key) are never claimed: nothing can open them, and they must not hold up the
            # others. erase_client run again removes them.
            erased = sorted(self._erased_scopes)
            unerased = f" AND m.key_scope NOT IN ({','.join('?' * len(erased))})" if erased else ""
            channels = sorted(CHANNEL_CODE[c] for c in terms.channels or ())
            chosen = f" AND m.channel IN ({','.join('?' * len(channels))})" if channels else ""
            if terms.channels is not None and not channels:
                return []  # (no channel at all)
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM messages m WHERE m.due_at IS NOT NULL"
                f" AND m.due_at <= ? AND m.status IN (?, ?, ?){unerased}{chosen}"
                " ORDER BY m.due_at, m.seq LIMIT ?",
                (now_us, *_DUE_STATUSES, *erased, *channels, limit),
            ).fetchall()
            self._require_keys(rows, 13, 14)
            return [_take(conn, self._decode(row), terms, None) for row in rows]

        return await self._with_keys(tx, write=True)

    async def claim(
        self, messages: Sequence[Message], terms: LeaseTerms, /, *, queued_by: str | None = None
    ) -> list[Claim | None]:
        """Claim chosen messages that are still as given (see the port)."""
        now_us = to_us(terms.now) or 0

        def tx(conn: sqlite3.Connection) -> list[Claim | None]:
            claims: list[Claim | None] = []
            for expected in messages:
                row = conn.execute(
                    "SELECT status, version, attempts, due_at FROM messages WHERE id = ?",
                    (id_bytes(expected.id),),
                ).fetchone()
                state = (STATUS_CODE[expected.status], expected.version, expected.attempts)
                if row is None or tuple(row[:3]) != state:
                    claims.append(None)
                elif row[0] == _SENDING and (row[3] or 0) > now_us:
                    claims.append(None)  # leased to a sender that is still within its lease
                else:
                    claims.append(_take(conn, expected, terms, queued_by))
            return claims

        return await self._db.transact(tx)

    async def renew(self, claims: Sequence[Claim], /, *, lease_until: datetime) -> list[str]:
        """Extend the leases still held; return the ids whose lease was lost."""
        until = to_us(lease_until)

        def tx(conn: sqlite3.Connection) -> list[str]:
            lost = []
            for claim in claims:
                changed = conn.execute(
                    "UPDATE messages SET due_at = ? WHERE id = ? AND lease_token = ?"
                    " AND status = ?",
                    (until, id_bytes(claim.message.id), claim.token, _SENDING),
                ).rowcount
                if not changed:
                    lost.append(claim.message.id)
            return lost

        return await self._db.transact(tx)

    async def lease(self, message_id: str, token: str, /) -> datetime | None:
        """When the lease under ``token`` ends, or None if the token lost it."""
        raw_id = id_bytes(message_id)

        def read(conn: sqlite3.Connection, _opener: object = None) -> tuple[datetime | None]:
            row = conn.execute(
                "SELECT due_at FROM messages WHERE id = ? AND lease_token = ? AND status = ?",
                (raw_id, token, _SENDING),
            ).fetchone()
            return (None if row is None else from_us(row[0]),)

        # A read on this thread over the read-only connection (no hop to the database thread);
        # WAL shows it every commit made before it starts. On the database thread when busy.
        here = self._read_inline(read)
        if here is None:
            here = await self._db.query(read)
        return here[0]
