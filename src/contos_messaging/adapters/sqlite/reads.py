"""Reads of the SQLite message repository: messages by id, by linked record and in creation
order, lookups by address, the send log, the audit trail and verification."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from contos_messaging.adapters._shared.sealing import Sealer, parse_header
from contos_messaging.adapters._shared.text import require_storable
from contos_messaging.adapters.sqlite.base import INLINE_READ_LIMIT, MessageTables
from contos_messaging.adapters.sqlite.codec import (
    decode_attempt,
    from_us,
    id_bytes,
    id_text,
    to_us,
)
from contos_messaging.adapters.sqlite.listing import (
    after_segments,
    cursor_of_row,
    filter_clause,
    order_clause,
)
from contos_messaging.adapters.sqlite.schema import ATTEMPT_COLUMNS, COLUMNS
from contos_messaging.domain.integrity import IntegrityProblem, VerifyReport
from contos_messaging.domain.message import Message
from contos_messaging.domain.ordering import decode_cursor
from contos_messaging.domain.page import Page
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.send_log import AuditAction, AuditEvent, SendAttempt
from contos_messaging.errors import IntegrityError, KeyUnavailable, MessageNotFound

__all__ = ["MessageReads"]


class MessageReads(MessageTables):
    """The reading half of :class:`~contos_messaging.adapters.sqlite.SQLiteMessageRepository`."""

    # -- reads -------------------------------------------------------------------------------

    async def get(self, message_id: str, /) -> Message:
        """One message."""
        raw_id = id_bytes(message_id)

        def read(conn: sqlite3.Connection, opener: Sealer | None = None) -> Message:
            row = conn.execute(
                f"SELECT {COLUMNS} FROM messages m WHERE m.id = ?", (raw_id,)
            ).fetchone()
            if row is None:
                raise MessageNotFound(message_id)
            return self._decode(row, opener)

        found = await self._read_here(read)
        return found if found is not None else await self._with_keys(read, write=False)

    async def get_many(self, message_ids: Sequence[str], /) -> list[Message]:
        """Messages in the order asked for."""
        raws = [id_bytes(i) for i in message_ids]

        def read(conn: sqlite3.Connection, opener: Sealer | None = None) -> list[Message]:
            rows = []
            for start in range(0, len(raws), 500):
                chunk = raws[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows += conn.execute(
                    f"SELECT {COLUMNS} FROM messages m WHERE m.id IN ({marks})", chunk
                ).fetchall()
            found = dict(
                zip([row[0] for row in rows], self._decode_rows(rows, opener), strict=True)
            )
            missing = [r for r in raws if r not in found]
            if missing:
                raise MessageNotFound(id_text(missing[0]))
            return [found[r] for r in raws]

        if len(raws) <= INLINE_READ_LIMIT:
            page = await self._read_here(read)
            if page is not None:
                return page
        return await self._with_keys(read, write=False)

    async def list_messages(self, query: MessageQuery, /) -> Page[Message]:
        """Messages that pass ``query``'s filters in its order (newest first without one), from
        its offset or after its cursor (``listing.py``)."""
        query = query.for_list()
        if any(entity.kind not in self._kinds for entity in query.linked or ()):
            await self._load_kinds()
        base, args = filter_clause(query, self._kinds)
        order = query.ordered("newest")
        limit, offset = query.page_size(MessageQuery.LIST_PAGE), query.offset
        segments: list[tuple[str, list[Any], str]] = [("", [], order_clause(order))]
        if query.after is not None:
            offset, anchor = decode_cursor(order, query.after)
            segments = after_segments(order, anchor)
        join = "AND" if " WHERE " in base else "WHERE"

        def read(conn: sqlite3.Connection) -> Page[Message]:
            total = conn.execute(f"SELECT count(*) {base}", args).fetchone()[0]
            # The page's rows in order first (narrow rows: an index, or a sort without the
            # content), then the rows themselves; one row more says whether more follow.
            seqs: list[int] = []
            for condition, values, ordered in segments:
                if len(seqs) > limit:
                    break
                where = f" {join} ({condition})" if condition else ""
                seqs += [
                    seq
                    for (seq,) in conn.execute(
                        f"SELECT m.seq {base}{where} {ordered} LIMIT ? OFFSET ?",
                        (*args, *values, limit + 1 - len(seqs), 0 if condition else offset),
                    )
                ]
            more, seqs = len(seqs) > limit, seqs[:limit]
            by_seq: dict[int, tuple[Any, ...]] = {}
            for start in range(0, len(seqs), 500):  # (a page of any size: 500 at a time)
                chunk = seqs[start : start + 500]
                marks = ",".join("?" * len(chunk))
                by_seq |= {
                    row[-1]: row[:-1]
                    for row in conn.execute(
                        f"SELECT {COLUMNS}, m.seq FROM messages m WHERE m.seq IN ({marks})", chunk
                    )
                }
            rows = [by_seq[seq] for seq in seqs]
            items = tuple(self._decode_rows(rows, skip_erased=True))
            return Page(
                items,
                total,
                limit,
                offset,
                erased=len(rows) - len(items),
                keyset=query.after is not None,
                next_after=cursor_of_row(order, offset + len(rows), rows[-1]) if more else None,
            )

        return await self._with_keys(read, write=False)

    async def due(self, now: datetime, /, *, limit: int = 100) -> list[str]:
        """Ids of QUEUED / DEFERRED messages due at ``now``, oldest first."""

        def read(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT id FROM messages WHERE due_at IS NOT NULL AND due_at <= ?"
                " AND status IN ('q', 'r') ORDER BY due_at, seq LIMIT ?",
                (to_us(now), limit),
            ).fetchall()
            return [id_text(r[0]) for r in rows]

        return await self._db.query(read)

    async def scan(self, /, *, after: str | None = None, limit: int = 500) -> list[Message]:
        """Messages in id order (ids are time-ordered UUIDv7) after ``after``; messages of
        erased clients still on disk are skipped (never opened), so a rebuild goes past them."""
        start = id_bytes(after) if after is not None else b""

        def read(conn: sqlite3.Connection) -> list[Message]:
            last = start
            while True:
                rows = conn.execute(
                    f"SELECT {COLUMNS} FROM messages m WHERE m.id > ? ORDER BY m.id LIMIT ?",
                    (last, limit),
                ).fetchall()
                messages = self._decode_rows(rows, skip_erased=True)
                if messages or len(rows) < limit:
                    return messages
                last = rows[-1][0]  # a whole batch of erased rows: look further

        return await self._with_keys(read, write=False)

    async def message_ids(self, /, *, after: str | None = None, limit: int = 5000) -> list[str]:
        """Ids in order after ``after``, from the id index alone."""
        start = id_bytes(after) if after is not None else b""
        rows = await self._db.query(
            lambda c: c.execute(
                "SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?", (start, limit)
            ).fetchall()
        )
        return [id_text(r[0]) for r in rows]

    async def note_unindexed(self, message_ids: Sequence[str], /) -> None:
        """Record messages whose change the search index did not get here."""
        rows = [(id_bytes(message_id),) for message_id in message_ids]
        if rows:
            await self._db.transact(
                lambda c: c.executemany("INSERT INTO unindexed (id) VALUES (?)", rows)
            )

    async def unindexed(self, /, *, limit: int = 1000) -> list[tuple[int, str]]:
        """``(mark, id)`` of the recorded messages, oldest first."""
        rows = await self._db.query(
            lambda c: c.execute(
                "SELECT mark, id FROM unindexed ORDER BY mark LIMIT ?", (limit,)
            ).fetchall()
        )
        return [(int(mark), id_text(raw)) for mark, raw in rows]

    async def forget_unindexed(self, upto: int, /) -> None:
        """Forget the recorded messages up to ``mark`` ``upto`` (the index has them now)."""
        await self._db.transact(
            lambda c: c.execute("DELETE FROM unindexed WHERE mark <= ?", (upto,))
        )

    async def find_by_address(self, address: str, /) -> list[str]:
        """Ids of messages to ``address`` through the blind index, newest first."""
        digest = self._blind(address)

        def read(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT m.id FROM address_index a JOIN messages m ON m.seq = a.seq"
                " WHERE a.hash = ? ORDER BY m.created_at DESC, m.seq DESC",
                (digest,),
            ).fetchall()
            return [id_text(r[0]) for r in rows]

        return await self._db.query(read)

    async def referenced_blobs(self) -> set[tuple[str, str]]:
        """Attachments referred to by stored messages."""
        return await self._db.query(
            lambda c: {(s, k) for s, k in c.execute("SELECT scope, blob_key FROM attachment_refs")}
        )

    async def attempts(self, message_id: str, /) -> list[SendAttempt]:
        """The send log of a message, oldest first (empty for an id that names nothing)."""
        require_storable("messages", message_id)
        try:
            raw_id = id_bytes(message_id)
        except MessageNotFound:  # not an id of ours: no message, so no log
            return []

        def read(conn: sqlite3.Connection) -> list[SendAttempt]:
            rows = conn.execute(
                f"SELECT {ATTEMPT_COLUMNS} FROM attempts a JOIN messages m"
                " ON m.seq = a.message_seq WHERE m.id = ? ORDER BY a.finished_at, a.rowid",
                (raw_id,),
            ).fetchall()
            self._require_keys(rows, 10, 11)
            return [
                decode_attempt(
                    (*r[:10], *r[12:15]), self._open_content("attempt:" + r[0], r[10], r[11])
                )
                for r in rows
            ]

        return await self._with_keys(read, write=False)

    async def audit(self, subject: str, /) -> list[AuditEvent]:
        """Audit events about ``subject``, oldest first."""
        rows = await self._db.query(
            lambda c: c.execute(
                "SELECT id, at, actor_id, action, details FROM audit WHERE subject = ?"
                " ORDER BY at, rowid",
                (subject,),
            ).fetchall()
        )
        return [
            AuditEvent(
                id=r[0],
                at=from_us(r[1]) or datetime.min,
                actor_id=r[2],
                action=AuditAction(r[3]),
                subject=subject,
                details=json.loads(r[4]),
            )
            for r in rows
        ]

    async def verify(self) -> VerifyReport:
        """Open every sealed message and send-log entry, a page at a time; report each one
        that fails (wrong key, corrupted, truncated, swapped, key destroyed)."""
        keys: dict[tuple[str, str], bytes] = {}
        problems: list[IntegrityProblem] = []
        checked = 0
        for table, prefix in (
            ("messages", "message:"), ("attempts", "attempt:"), ("deliveries", "delivery:")
        ):  # fmt: skip
            last = 0
            while True:
                page = await self._db.query(partial(_verify_page, table, last))
                if not page:
                    break
                last = page[-1][0]
                for _rowid, raw_id, scope, blob in page:
                    object_id = prefix + (id_text(raw_id) if isinstance(raw_id, bytes) else raw_id)
                    checked += 1
                    try:
                        key_id = parse_header(object_id, blob).key_id
                        if (scope, key_id) not in keys:
                            keys[(scope, key_id)] = await self._keys.get(scope, key_id)
                        self._sealer.open(
                            blob,
                            object_id=object_id,
                            scope=scope,
                            key_for=_fixed(keys[(scope, key_id)]),
                        )
                    except (IntegrityError, KeyUnavailable) as exc:
                        problems.append(IntegrityProblem(object_id, str(exc)))
        return VerifyReport(checked, tuple(problems))


def _verify_page(table: str, after: int, conn: sqlite3.Connection) -> list[Any]:
    return conn.execute(
        f"SELECT rowid, id, key_scope, content FROM {table} WHERE rowid > ? ORDER BY rowid"
        " LIMIT 1000",
        (after,),
    ).fetchall()


def _fixed(key: bytes) -> Callable[[str], bytes]:
    return lambda _key_id: key
