"""Delivery reports in the SQLite message repository: which message a gateway's id names
(``provider_refs``, written with each send-log attempt) and the reports themselves
(``deliveries``: the state and time in columns, the number, code and gateway's text sealed
under the message's client key, like the send log)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from contos_messaging.adapters._shared.sealing import parse_header
from contos_messaging.adapters._shared.text import require_storable
from contos_messaging.adapters.sqlite.codec import EPOCH, from_us, id_bytes, id_text, to_us
from contos_messaging.adapters.sqlite.updates import MessageUpdates
from contos_messaging.domain.delivery import DeliveryReceipt, DeliveryState
from contos_messaging.domain.ids import uuid7
from contos_messaging.domain.integrity import Update
from contos_messaging.errors import InvalidInput, MessageNotFound

__all__ = ["MessageDeliveries"]


_PENDING_SCOPE = ""  # (the scope of content that belongs to no client)


def _content(receipt: DeliveryReceipt) -> bytes:
    doc = [receipt.transport, receipt.provider_id, receipt.recipient, receipt.code, receipt.text]
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _key_id(blob: bytes) -> str:
    return parse_header("", blob).key_id


def _fixed(key: bytes) -> Callable[[str], bytes]:
    return lambda _key_id: key


class MessageDeliveries(MessageUpdates):
    """The delivery-report part of
    :class:`~contos_messaging.adapters.sqlite.SQLiteMessageRepository`."""

    async def message_for_delivery(self, transport: str, provider_id: str, /) -> str | None:
        """The id of the message sent through ``transport`` whose recipient the gateway named
        ``provider_id``, or ``None``."""
        for value in (transport, provider_id):
            require_storable("delivery reports", value)
        row = await self._db.query(
            lambda c: c.execute(
                "SELECT m.id FROM provider_refs p JOIN messages m ON m.seq = p.seq"
                " WHERE p.transport = ? AND p.provider_id = ?",
                (transport, provider_id),
            ).fetchone()
        )
        return None if row is None else id_text(row[0])

    async def record_delivery(
        self, message_id: str, receipt: DeliveryReceipt, /, *, change: Update | None = None
    ) -> None:
        """Store a report about ``message_id`` (once: the same report again is not stored again)
        and, in the same transaction, ``change`` (the status the reports move it to,
        compare-and-set as :meth:`update`)."""
        if change is not None and change.message.id != message_id:
            raise InvalidInput("a delivery report's change must be of its message")
        for value in (receipt.transport, receipt.provider_id, receipt.recipient, receipt.code):
            require_storable("delivery reports", value)
        require_storable("delivery reports", receipt.text)
        raw_id = id_bytes(message_id)
        found = await self._db.query(
            lambda c: c.execute("SELECT key_scope FROM messages WHERE id = ?", (raw_id,)).fetchone()
        )
        if found is None:
            raise MessageNotFound(message_id)
        scope = found[0]
        key_id, key = (await self._current_keys({scope}))[scope]
        report_id = uuid7(receipt.at)
        sealed = self._sealer.seal(
            _content(receipt), object_id="delivery:" + report_id, scope=scope,
            key_id=key_id, key=key,
        )  # fmt: skip
        prepared = await self._prepare_update(change) if change is not None else None
        digest = self._report_digest(receipt)

        def tx(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT seq FROM messages WHERE id = ?", (raw_id,)).fetchone()
            if row is None:
                raise MessageNotFound(message_id)
            if change is not None and prepared is not None:
                self._apply(conn, change, *prepared)
            conn.execute(  # (the same report stored already, by another task: kept once)
                "INSERT OR IGNORE INTO deliveries"
                " (id, message_seq, at, state, key_scope, content, digest)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (report_id, row[0], to_us(receipt.at), receipt.state.value, scope, sealed, digest),
            )

        await self._db.transact(tx)

    def _report_digest(self, receipt: DeliveryReceipt) -> bytes:
        """A keyed hash of the whole report: the same report has the same digest."""
        return hashlib.blake2b(
            _content(receipt) + f"\x00{receipt.state.value}\x00{to_us(receipt.at)}".encode(),
            key=self._blind_key, digest_size=16, person=b"delivery-report",
        ).digest()  # fmt: skip

    async def note_pending_delivery(self, receipt: DeliveryReceipt, /) -> None:
        """Keep a report that names no stored attempt yet (sealed), for
        :meth:`take_pending_deliveries`; the same report once."""
        for value in (receipt.transport, receipt.provider_id, receipt.recipient, receipt.code):
            require_storable("delivery reports", value)
        require_storable("delivery reports", receipt.text)
        key_id, key = (await self._current_keys({_PENDING_SCOPE}))[_PENDING_SCOPE]
        digest = self._report_digest(receipt)
        doc = [*json.loads(_content(receipt)), receipt.state.value, to_us(receipt.at)]
        sealed = self._sealer.seal(
            json.dumps(doc, ensure_ascii=False).encode(), object_id="pending:" + digest.hex(),
            scope=_PENDING_SCOPE, key_id=key_id, key=key,
        )  # fmt: skip
        row = (digest, receipt.transport, receipt.provider_id, to_us(datetime.now(UTC)),
               _PENDING_SCOPE, sealed)  # fmt: skip
        await self._db.transact(
            lambda c: c.execute(
                "INSERT OR IGNORE INTO pending_deliveries VALUES (?,?,?,?,?,?)", row
            )
        )

    async def has_pending_deliveries(self) -> bool:
        """Whether any report waits for its attempt (one indexed read)."""
        row = await self._db.query(
            lambda c: c.execute("SELECT EXISTS (SELECT 1 FROM pending_deliveries)").fetchone()
        )
        return bool(row[0])

    async def take_pending_deliveries(
        self, transport: str, provider_ids: Sequence[str], /
    ) -> list[DeliveryReceipt]:
        """The pending reports naming ``provider_ids`` of ``transport``, removed from the
        pending ones (a week old at most: older ones are dropped)."""
        ids = list(dict.fromkeys(provider_ids))
        if not ids:
            return []
        week = to_us(datetime.now(UTC) - timedelta(days=7))

        def tx(conn: sqlite3.Connection) -> list[tuple[bytes, str, bytes]]:
            conn.execute("DELETE FROM pending_deliveries WHERE received_at < ?", (week,))
            rows = []
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows += conn.execute(
                    "DELETE FROM pending_deliveries WHERE transport = ? AND provider_id IN"
                    f" ({marks}) RETURNING digest, key_scope, content",
                    (transport, *chunk),
                ).fetchall()
            return rows

        rows = await self._db.transact(tx)
        taken = []
        for digest, scope, blob in rows:
            key = await self._keys.get(scope, _key_id(blob))
            opened = self._sealer.open(
                blob, object_id="pending:" + digest.hex(), scope=scope, key_for=_fixed(key)
            )
            transport_, provider_id, recipient, code, text, state, at = json.loads(opened)
            moment = from_us(at) or EPOCH
            report = DeliveryReceipt(
                transport_, provider_id, DeliveryState(state), moment, recipient, code, text
            )
            taken.append(report)
        return taken

    async def deliveries(self, message_id: str, /) -> list[DeliveryReceipt]:
        """The delivery reports of a message, in the order they were stored."""
        require_storable("messages", message_id)
        try:
            raw_id = id_bytes(message_id)
        except MessageNotFound:  # not an id of ours: no message, so no reports
            return []

        def read(conn: sqlite3.Connection) -> list[DeliveryReceipt]:
            rows = conn.execute(
                "SELECT d.id, d.at, d.state, d.key_scope, d.content FROM deliveries d"
                " JOIN messages m ON m.seq = d.message_seq WHERE m.id = ? ORDER BY d.rowid",
                (raw_id,),
            ).fetchall()
            self._require_keys(rows, 3, 4)
            reports = []
            for report_id, at, state, scope, blob in rows:
                opened = self._open_content("delivery:" + report_id, scope, blob)
                transport, provider_id, recipient, code, text = json.loads(opened)
                moment: datetime = from_us(at) or EPOCH
                reports.append(
                    DeliveryReceipt(
                        transport, provider_id, DeliveryState(state), moment, recipient, code, text
                    )
                )
            return reports

        return await self._with_keys(read, write=False)
