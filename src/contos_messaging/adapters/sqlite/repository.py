"""SQLiteMessageRepository: metadata in columns, content sealed in the same row.

Clear columns hold only ids, states, times, key scopes and keyed blind-index hashes. Subject,
bodies, sender, recipients, attachment names, links and send-log replies are sealed (zstd with a
dictionary trained on synthetic renders, then AES-256-GCM under the client's key) before they
reach SQLite. Content and metadata commit in one transaction, so a row never points at missing
content. See docs/architecture.md for why message content is not a separate file.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import attrs

from contos_messaging.adapters.sealing import Sealer, parse_header
from contos_messaging.adapters.sqlite.codec import (
    CHANNEL_CODE,
    STATUS_CODE,
    decode_attempt,
    decode_message,
    encode_attempt_content,
    encode_content,
    from_us,
    id_bytes,
    id_text,
    to_us,
)
from contos_messaging.adapters.sqlite.db import SQLiteWorker
from contos_messaging.adapters.sqlite.schema import (
    ATTEMPT_COLUMNS,
    ATTEMPT_INSERT_COLUMNS,
    COLUMNS,
    DEFAULT_DICTIONARY_ID,
    MIGRATIONS,
    default_dictionary,
)
from contos_messaging.adapters.sqlite.templates import TemplateTables
from contos_messaging.domain.addresses import EmailRecipients
from contos_messaging.domain.integrity import Claim, IntegrityProblem, Update, VerifyReport
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, MessageStatus
from contos_messaging.domain.page import Page
from contos_messaging.domain.send_log import AuditAction, AuditEvent, SendAttempt
from contos_messaging.errors import (
    AlreadyExists,
    ConcurrentModification,
    IntegrityError,
    InvalidInput,
    KeyUnavailable,
    MessageNotFound,
)
from contos_messaging.ports import KeyStore

__all__ = ["SQLiteMessageRepository"]

T = TypeVar("T")
_S = MessageStatus
_DUE_STATUSES = ("q", "r", "w")  # queued, deferred (retry), sending (lease may expire)

# Reads of up to this many messages run on the caller's thread (about 30 µs a message).
INLINE_READ_LIMIT = 50


@attrs.define
class _Batch:
    """Rows of a batch of new messages; link, address and attachment rows refer to a message
    by its index in ``rows``."""

    rows: list[tuple[Any, ...]] = attrs.Factory(list)
    links: list[tuple[int, str, int]] = attrs.Factory(list)
    addresses: list[tuple[bytes, int]] = attrs.Factory(list)
    attachments: list[tuple[str, str, int]] = attrs.Factory(list)


class _DuplicateId(Exception):
    """An id of the batch is taken; :meth:`add` finds which one after the rollback."""


class _NeedKeys(Exception):
    """Raised on the worker thread when rows need keys not cached yet; carries all of them."""

    def __init__(self, missing: set[tuple[str, str]]) -> None:
        super().__init__(len(missing))
        self.missing = missing


def _due_at(message: Message, lease_until: datetime | None = None) -> int | None:
    if message.status is _S.QUEUED:
        return to_us(message.scheduled_at) or 0
    if message.status is _S.DEFERRED:
        return to_us(message.next_attempt_at) or 0
    if message.status is _S.SENDING and lease_until is not None:
        return to_us(lease_until)
    return None


def _message_object_id(raw_id: bytes) -> str:
    return "message:" + id_text(raw_id)


class SQLiteMessageRepository(TemplateTables):
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

    # -- entity kinds ------------------------------------------------------------------------

    async def _load_kinds(self) -> None:
        rows = await self._db.query(lambda c: c.execute("SELECT name, id FROM kinds").fetchall())
        self._kinds = dict(rows)

    async def _ensure_kinds(self, kinds: set[str]) -> None:
        """Give host-registered kinds their number in a transaction of their own, so the cache
        never holds a number that was rolled back."""
        missing = kinds - self._kinds.keys()
        if not missing:
            return

        def tx(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR IGNORE INTO kinds (name) VALUES (?)", [(k,) for k in sorted(missing)]
            )

        await self._db.transact(tx)
        await self._load_kinds()

    # -- keys --------------------------------------------------------------------------------

    async def _with_keys(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        """Run ``fn`` on the worker; when its rows need keys not cached yet, fetch them all and
        run it again (each key is fetched once per process)."""
        for _ in range(3):
            try:
                return await (self._db.transact(fn) if write else self._db.query(fn))
            except _NeedKeys as need:
                await self._fetch_keys(need.missing)
        raise KeyUnavailable("", "keys changed while reading; try again")

    async def _fetch_keys(self, missing: set[tuple[str, str]]) -> None:
        """Fetch keys into the cache in one request (a page of hits from twenty clients needs
        twenty keys: one round trip to the key store instead of twenty)."""
        self._key_cache.update(await self._keys.get_many(missing))

    def _require_keys(self, rows: Sequence[Sequence[Any]], scope_col: int, blob_col: int) -> None:
        missing = set()
        for row in rows:
            try:
                key_id = parse_header("", row[blob_col]).key_id
            except IntegrityError:
                continue  # opening it will report the damage, naming the object
            if (row[scope_col], key_id) not in self._key_cache:
                missing.add((row[scope_col], key_id))
        if missing:
            raise _NeedKeys(missing)

    def _key_for(self, scope: str) -> Callable[[str], bytes]:
        def lookup(key_id: str) -> bytes:
            key = self._key_cache.get((scope, key_id))
            if key is None:
                raise _NeedKeys({(scope, key_id)})
            return key

        return lookup

    async def _current_keys(self, scopes: set[str]) -> dict[str, tuple[str, bytes]]:
        return {scope: await self._keys.current(scope) for scope in scopes}

    def _open_content(
        self, object_id: str, scope: str, blob: bytes, opener: Sealer | None = None
    ) -> bytes:
        return (opener or self._opener).open(
            blob, object_id=object_id, scope=scope, key_for=self._key_for(scope)
        )

    def _decode(self, row: Sequence[Any], opener: Sealer | None = None) -> Message:
        raw_id, scope, blob = row[0], row[13], row[14]
        content = self._open_content(_message_object_id(raw_id), scope, blob, opener)
        return decode_message(row, content)

    def _decode_rows(
        self, rows: Sequence[Sequence[Any]], opener: Sealer | None = None
    ) -> list[Message]:
        """Messages of ``rows``; when a key is not cached, raises :class:`_NeedKeys` naming every
        key the rows need (looked for only then: the usual case is that all are cached)."""
        try:
            return [self._decode(row, opener) for row in rows]
        except _NeedKeys:
            self._require_keys(rows, 13, 14)
            raise

    async def _read_here(self, fn: Callable[[sqlite3.Connection, Sealer], T]) -> T | None:
        """Run a small read on this thread over the read-only connection, fetching the keys it
        needs first; None when it cannot (the database busy): the caller then goes to the
        database thread."""
        for _ in range(3):
            try:
                return self._read_inline(fn)
            except _NeedKeys as need:
                await self._fetch_keys(need.missing)
        return None

    def _read_inline(self, fn: Callable[[sqlite3.Connection, Sealer], T]) -> T | None:
        """Run a small read on this thread over the read-only connection; None when the
        database is busy; :class:`_NeedKeys` when keys are not cached yet. WAL readers neither
        wait for writers nor block them, and every statement sees what was committed before it
        started."""
        try:
            if self._reader is None:
                uri = self._path.resolve().as_uri() + "?mode=ro"
                reader = sqlite3.connect(
                    uri, uri=True, isolation_level=None, check_same_thread=False
                )
                reader.execute("PRAGMA busy_timeout = 200")
                reader.execute("PRAGMA cache_size = -65536")
                self._reader = reader
            return fn(self._reader, self._reader_opener)
        except sqlite3.OperationalError:
            return None

    def _blind(self, value: str) -> bytes:
        # Keyed BLAKE2b is a MAC (a PRF under the key), and much cheaper than HMAC-SHA256.
        return hashlib.blake2b(
            value.strip().lower().encode("utf-8"), key=self._blind_key, digest_size=8
        ).digest()

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
                    _due_at(message),
                    sealed,
                )
            )
            batch.links += [(kinds[link.kind], link.id, index) for link in message.links]
            batch.addresses += [(self._blind(a), index) for a in _addresses(message)]
            batch.attachments += [(scope, a.sha256, index) for a in message.attachments]
        return batch

    @staticmethod
    def _insert(conn: sqlite3.Connection, batch: _Batch) -> None:
        """Insert a prepared batch: one statement per table."""
        try:
            conn.executemany(
                "INSERT INTO messages (id, channel, status, created_by, created_at,"
                " updated_at, scheduled_at, expires_at, next_attempt_at, attempts, version,"
                " template_name, template_version, key_scope, due_at, content)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                batch.rows,
            )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise _DuplicateId from exc
            raise
        # Under the write lock one statement gives consecutive rowids ending at the last one.
        first = conn.execute("SELECT last_insert_rowid()").fetchone()[0] - len(batch.rows) + 1
        SQLiteMessageRepository._insert_refs(conn, batch, first)

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
        self, messages: Sequence[Message], /, *, events: Sequence[AuditEvent] = ()
    ) -> None:
        """Store new messages and events in one transaction."""
        keys = await self._current_keys({m.key_scope for m in messages})
        await self._ensure_kinds({link.kind for m in messages for link in m.links})

        batch = self._prepare(messages, keys)

        def tx(conn: sqlite3.Connection) -> None:
            if batch.rows:
                self._insert(conn, batch)
            self._insert_events(conn, events)

        try:
            await self._db.transact(tx)
        except _DuplicateId:
            raise AlreadyExists(await self._taken_id(messages)) from None

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
            " attempts=?, version=?, due_at=?, lease_owner=NULL, lease_token=NULL"
        )
        values: list[Any] = [
            STATUS_CODE[message.status],
            to_us(message.updated_at),
            to_us(message.scheduled_at),
            to_us(message.expires_at),
            to_us(message.next_attempt_at),
            message.attempts,
            message.version,
            _due_at(message),
        ]
        if batch is not None:
            sets += ", key_scope=?, content=?"
            values += [message.key_scope, batch.rows[0][-1]]
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
            f"INSERT INTO attempts ({ATTEMPT_INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
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
            ),
        )

    async def claim_due(
        self, now: datetime, /, *, owner: str, lease_until: datetime, limit: int = 100
    ) -> list[Claim]:
        """Claim due messages (and expired leases) for ``owner`` in one transaction."""
        now_us = to_us(now)

        def tx(conn: sqlite3.Connection) -> list[Claim]:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM messages m WHERE m.due_at IS NOT NULL"
                " AND m.due_at <= ? AND m.status IN (?, ?, ?) ORDER BY m.due_at, m.seq LIMIT ?",
                (now_us, *_DUE_STATUSES, limit),
            ).fetchall()
            self._require_keys(rows, 13, 14)
            claims = []
            for row in rows:
                message = self._decode(row)
                if message.status is _S.SENDING:  # the lease expired: the holder is gone
                    message = message.transition(_S.QUEUED, at=now)
                claimed = message.transition(_S.SENDING, at=now)
                token = secrets.token_hex(16)
                conn.execute(
                    "UPDATE messages SET status=?, updated_at=?, attempts=?, next_attempt_at=NULL,"
                    " due_at=?, lease_owner=?, lease_token=? WHERE id=?",
                    (
                        STATUS_CODE[claimed.status],
                        to_us(now),
                        claimed.attempts,
                        to_us(lease_until),
                        owner,
                        token,
                        row[0],
                    ),
                )
                claims.append(Claim(claimed, token))
            return claims

        return await self._with_keys(tx, write=True)

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
                for table in ("links", "address_index", "attachment_refs"):
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

    async def list_linked(
        self,
        entity: LinkedEntity,
        /,
        *,
        channel: Channel | None = None,
        status: MessageStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        created_by: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Message]:
        """Messages linked to ``entity``, newest first (ids are time-ordered UUIDv7)."""
        if not (1 <= limit <= 1000) or offset < 0:
            raise InvalidInput(f"limit must be 1-1000 and offset not negative: {limit}, {offset}")
        kind_id = self._kinds.get(entity.kind)
        if kind_id is None:
            await self._load_kinds()
            kind_id = self._kinds.get(entity.kind, -1)  # never stored: matches nothing
        where = ["l.kind = ?", "l.entity_id = ?"]
        args: list[Any] = [kind_id, entity.id]
        for clause, value in (
            ("m.channel = ?", CHANNEL_CODE[channel] if channel else None),
            ("m.status = ?", STATUS_CODE[status] if status else None),
            ("m.created_at >= ?", to_us(since)),
            ("m.created_at < ?", to_us(until)),
            ("m.created_by = ?", created_by),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        condition = " AND ".join(where)
        base = f"FROM links l JOIN messages m ON m.seq = l.seq WHERE {condition}"

        def read(conn: sqlite3.Connection) -> Page[Message]:
            total = conn.execute(f"SELECT count(*) {base}", args).fetchone()[0]
            rows = conn.execute(
                f"SELECT {COLUMNS} {base} ORDER BY m.created_at DESC, m.seq DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
            return Page(tuple(self._decode_rows(rows)), total, limit, offset)

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
        """Messages in id order (ids are time-ordered UUIDv7) after ``after``."""
        start = id_bytes(after) if after is not None else b""

        def read(conn: sqlite3.Connection) -> list[Message]:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM messages m WHERE m.id > ? ORDER BY m.id LIMIT ?",
                (start, limit),
            ).fetchall()
            return self._decode_rows(rows)

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
        """The send log of a message, oldest first."""
        raw_id = id_bytes(message_id)

        def read(conn: sqlite3.Connection) -> list[SendAttempt]:
            rows = conn.execute(
                f"SELECT {ATTEMPT_COLUMNS} FROM attempts a JOIN messages m"
                " ON m.seq = a.message_seq WHERE m.id = ? ORDER BY a.finished_at, a.id",
                (raw_id,),
            ).fetchall()
            self._require_keys(rows, 10, 11)
            return [
                decode_attempt(tuple(r[:10]), self._open_content("attempt:" + r[0], r[10], r[11]))
                for r in rows
            ]

        return await self._with_keys(read, write=False)

    async def audit(self, subject: str, /) -> list[AuditEvent]:
        """Audit events about ``subject``, oldest first."""
        rows = await self._db.query(
            lambda c: c.execute(
                "SELECT id, at, actor_id, action, details FROM audit WHERE subject = ?"
                " ORDER BY at, id",
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
        for table, prefix in (("messages", "message:"), ("attempts", "attempt:")):
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

    async def checkpoint(self) -> None:
        """Fold the WAL into the database file (for backups and size measurements)."""
        await self._db.run(lambda: self._db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))

    async def aclose(self) -> None:
        """Close the database."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await self._db.close()


def _verify_page(table: str, after: int, conn: sqlite3.Connection) -> list[Any]:
    return conn.execute(
        f"SELECT rowid, id, key_scope, content FROM {table} WHERE rowid > ? ORDER BY rowid"
        " LIMIT 1000",
        (after,),
    ).fetchall()


def _fixed(key: bytes) -> Callable[[str], bytes]:
    return lambda _key_id: key


def _addresses(message: Message) -> list[str]:
    recipients = message.recipients
    if isinstance(recipients, EmailRecipients):
        return [a.addr_spec for a in recipients.all]
    return list(recipients.envelope)
