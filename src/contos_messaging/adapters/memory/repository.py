"""In-memory message repository (fake for tests; same contract as the SQLite one)."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import cmp_to_key, partial

from contos_messaging.adapters._shared.text import require_storable
from contos_messaging.adapters.memory.deliveries import InMemoryDeliveries
from contos_messaging.adapters.memory.erased import ErasedScopes
from contos_messaging.domain.addresses import EmailRecipients
from contos_messaging.domain.ids import check_idempotency_keys
from contos_messaging.domain.integrity import Claim, LeaseTerms, Update, VerifyReport
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.ordering import (
    SortValue,
    comes_after,
    decode_cursor,
    encode_cursor,
    micros,
    sort_values,
)
from contos_messaging.domain.page import Page
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.send_log import AuditEvent, SendAttempt
from contos_messaging.errors import (
    AlreadyExists,
    ConcurrentModification,
    InvalidInput,
    MessageNotFound,
    UsageError,
)
from contos_messaging.ports.keys import KeyStore

__all__ = ["InMemoryMessageRepository"]


def _compare(
    order: str, a: tuple[tuple[SortValue, ...], Message], b: tuple[tuple[SortValue, ...], Message]
) -> int:
    if comes_after(order, a[0], b[0]):
        return 1
    return -1 if comes_after(order, b[0], a[0]) else 0


def _admitted(query: MessageQuery, m: Message) -> bool:
    return query.admits(
        channel=m.channel, status=m.status, links=m.links, created_at=m.created_at,
        created_by=m.created_by, template=m.template.name if m.template else None,
        scheduled_at=m.scheduled_at, sent_at=m.sent_at,
    )  # fmt: skip


def _sort_values(order: str, m: Message) -> tuple[SortValue, ...]:
    created = micros(m.created_at)
    assert created is not None
    return sort_values(
        order, message_id=m.id, status=m.status, created_at=created,
        scheduled_at=micros(m.scheduled_at), sent_at=micros(m.sent_at),
    )  # fmt: skip


def _state(message: Message) -> tuple[MessageStatus, int, int]:
    return (message.status, message.version, message.attempts)


class InMemoryMessageRepository(InMemoryDeliveries):
    """Keeps messages, the send log and the audit log in dictionaries. Given the messenger's
    ``keys``, it treats the messages of a client whose keys were destroyed as the SQLite
    repository does (see ``erased.py``); without, it cannot know of erasures until
    ``erase_scope``."""

    def __init__(self, keys: KeyStore | None = None) -> None:
        super().__init__()
        self._erased = ErasedScopes(keys)
        self.messages: dict[str, Message] = {}
        self._attempts: dict[str, list[SendAttempt]] = defaultdict(list)
        self._audit: dict[str, list[AuditEvent]] = defaultdict(list)
        self._leases: dict[str, tuple[str, str, datetime]] = {}
        self._idempotency: dict[str, str] = {}
        self.unindexed_ids: list[tuple[int, str]] = []
        self._unindexed_mark = 0
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError("the repository is closed")

    async def add(
        self,
        messages: Sequence[Message],
        /,
        *,
        events: Sequence[AuditEvent] = (),
        idempotency_keys: Sequence[str | None] = (),
    ) -> dict[str, str]:
        """Store new messages and events, all or nothing; messages whose idempotency key is
        taken are left out (see the port)."""
        self._check_open()
        await self._erased.refresh()  # (nothing new for an erased client: no key seals it)
        for message in messages:
            self._erased.refuse(message)
        keys = check_idempotency_keys(messages, idempotency_keys)
        taken: dict[str, str] = {}
        fresh: dict[str, str] = {}
        for message, key in zip(messages, keys, strict=True):
            if key is None:
                continue
            existing = self._idempotency.get(key) or fresh.get(key)
            if existing is not None:
                taken[message.id] = existing
            else:
                fresh[key] = message.id
        stored = [m for m in messages if m.id not in taken]
        ids = [m.id for m in stored]
        for message_id in ids:
            if message_id in self.messages:
                raise AlreadyExists(message_id)
        if len(set(ids)) != len(ids):
            raise AlreadyExists(next(i for i in ids if ids.count(i) > 1))
        for message in stored:
            self.messages[message.id] = message
        self._idempotency.update(fresh)
        for event in events:
            if event.subject not in taken:
                self._audit[event.subject].append(event)
        return taken

    async def get(self, message_id: str, /) -> Message:
        """Return one message."""
        self._check_open()
        await self._erased.refresh()
        try:
            return self._erased.refuse(self.messages[message_id])
        except KeyError:
            raise MessageNotFound(message_id) from None

    async def get_many(self, message_ids: Sequence[str], /) -> list[Message]:
        """Return messages in the given order."""
        return [await self.get(i) for i in message_ids]

    async def update(self, change: Update, /) -> None:
        """Compare-and-set one message and append its log entries."""
        message, expected, lease_token = change.message, change.expected, change.lease_token
        self._check_open()
        current = await self.get(expected.id)
        if message.id != expected.id:
            raise InvalidInput("update must keep the message id")
        if (current.status, current.version, current.attempts) != (
            expected.status,
            expected.version,
            expected.attempts,
        ):
            raise ConcurrentModification(message.id)
        if lease_token is not None:
            lease = self._leases.get(message.id)
            if lease is None or lease[1] != lease_token:
                raise ConcurrentModification(message.id)
        self._leases.pop(message.id, None)
        self.messages[message.id] = message
        if change.attempt is not None:
            self._attempts[message.id].append(change.attempt)
            self._note_provider_ids(change.attempt)
        for event in change.events:
            self._audit[event.subject].append(event)

    async def update_many(self, updates: Sequence[Update], /) -> list[str]:
        """Apply updates; return the ids whose compare-and-set failed."""
        failed = []
        for change in updates:
            try:
                await self.update(change)
            except (ConcurrentModification, MessageNotFound):
                failed.append(change.message.id)
        return failed

    async def list_messages(self, query: MessageQuery, /) -> Page[Message]:
        """Messages that pass ``query``'s filters, in its order (newest first without one), from
        its offset or after its cursor."""
        self._check_open()
        query = query.for_list()
        order = query.ordered("newest")
        found = [(_sort_values(order, m), m) for m in self.messages.values() if _admitted(query, m)]
        found.sort(key=cmp_to_key(partial(_compare, order)))
        limit = query.page_size(MessageQuery.LIST_PAGE)
        if query.after is None:
            offset, rows = query.offset, found[query.offset : query.offset + limit + 1]
        else:
            offset, anchor = decode_cursor(order, query.after)
            rows = [row for row in found if comes_after(order, row[0], anchor)][: limit + 1]
        more, rows = len(rows) > limit, rows[:limit]
        await self._erased.refresh()
        items = tuple(m for _, m in rows if self._erased.alive(m))
        return Page(
            items=items,
            total=len(found),
            limit=limit,
            offset=offset,
            erased=len(rows) - len(items),
            keyset=query.after is not None,
            next_after=encode_cursor(order, offset + len(rows), rows[-1][0]) if more else None,
        )

    async def due(self, now: datetime, /, *, limit: int = 100) -> list[str]:
        """Ids of messages due at ``now``, oldest first."""
        self._check_open()
        due = [
            m
            for m in self.messages.values()
            if (
                m.status is MessageStatus.QUEUED
                and (m.scheduled_at is None or m.scheduled_at <= now)
            )
            or (
                m.status is MessageStatus.DEFERRED
                and (m.next_attempt_at is None or m.next_attempt_at <= now)
            )
        ]
        due.sort(key=lambda m: (m.scheduled_at or m.next_attempt_at or m.created_at, m.id))
        return [m.id for m in due[:limit]]

    async def claim_due(self, terms: LeaseTerms, /, *, limit: int = 100) -> list[Claim]:
        """Claim due messages and those whose lease expired."""
        now, owner, lease_until = terms.now, terms.owner, terms.until
        self._check_open()
        expired = [
            m.id
            for m in self.messages.values()
            if m.status is MessageStatus.SENDING
            and (m.id not in self._leases or self._leases[m.id][2] <= now)
        ]
        ids = await self.due(now, limit=len(self.messages)) + expired
        await self._erased.refresh()  # (never claimed: nothing could open them)
        ids = [i for i in ids if self._erased.alive(self.messages[i])]
        if terms.channels is not None:
            ids = [i for i in ids if self.messages[i].channel in terms.channels]
        ids = ids[:limit]
        claims = []
        for message_id in ids:
            message = previous = self.messages[message_id]
            if message.status is MessageStatus.SENDING:
                message = message.transition(MessageStatus.QUEUED, at=now)
            claimed = message.transition(MessageStatus.SENDING, at=now)
            token = secrets.token_hex(16)
            self.messages[message_id] = claimed
            self._leases[message_id] = (owner, token, lease_until)
            claims.append(Claim(claimed, token, lease_until, previous))
        return claims

    async def claim(
        self, messages: Sequence[Message], terms: LeaseTerms, /, *, queued_by: str | None = None
    ) -> list[Claim | None]:
        """Claim the given messages if they are still as given (see the port)."""
        now, owner, lease_until = terms.now, terms.owner, terms.until
        self._check_open()
        claims: list[Claim | None] = []
        for expected in messages:
            current = self.messages.get(expected.id)
            if current is None or _state(current) != _state(expected):
                claims.append(None)
                continue
            previous = current
            if current.status is MessageStatus.SENDING:
                lease = self._leases.get(current.id)
                if lease is not None and lease[2] > now:
                    claims.append(None)
                    continue
                current = current.transition(MessageStatus.QUEUED, at=now)
            if queued_by is not None:
                current = current.queued_for_sending(queued_by, at=now)
            claimed = current.transition(MessageStatus.SENDING, at=now)
            token = secrets.token_hex(16)
            self.messages[claimed.id] = claimed
            self._leases[claimed.id] = (owner, token, lease_until)
            claims.append(Claim(claimed, token, lease_until, previous))
        return claims

    async def renew(self, claims: Sequence[Claim], /, *, lease_until: datetime) -> list[str]:
        """Extend the leases still held; return the ids whose lease was lost."""
        self._check_open()
        lost = []
        for claim in claims:
            lease = self._leases.get(claim.message.id)
            current = self.messages.get(claim.message.id)
            if (
                lease is None
                or lease[1] != claim.token
                or current is None
                or current.status is not MessageStatus.SENDING
            ):
                lost.append(claim.message.id)
                continue
            self._leases[claim.message.id] = (lease[0], lease[1], lease_until)
        return lost

    async def lease(self, message_id: str, token: str, /) -> datetime | None:
        """When the lease under ``token`` ends, or None if the token lost it."""
        self._check_open()
        lease = self._leases.get(message_id)
        if lease is None or lease[1] != token:
            return None
        return lease[2]

    async def scan(self, /, *, after: str | None = None, limit: int = 500) -> list[Message]:
        """Messages in id order after ``after``, those of erased clients left out."""
        self._check_open()
        await self._erased.refresh()
        ordered = sorted(i for i, m in self.messages.items() if self._erased.alive(m))
        start = (
            0
            if after is None
            else next(
                (i for i, message_id in enumerate(ordered) if message_id > after), len(ordered)
            )
        )
        return [self.messages[i] for i in ordered[start : start + limit]]

    async def message_ids(self, /, *, after: str | None = None, limit: int = 5000) -> list[str]:
        """Ids in order after ``after`` (those of erased clients too)."""
        self._check_open()
        return [i for i in sorted(self.messages) if after is None or i > after][:limit]

    async def note_unindexed(self, message_ids: Sequence[str], /) -> None:
        """Record messages whose change the search index did not get here."""
        self._check_open()
        for message_id in message_ids:
            self._unindexed_mark += 1
            self.unindexed_ids.append((self._unindexed_mark, message_id))

    async def unindexed(self, /, *, limit: int = 1000) -> list[tuple[int, str]]:
        """``(mark, id)`` of the recorded messages, oldest first."""
        self._check_open()
        return list(self.unindexed_ids[:limit])

    async def forget_unindexed(self, upto: int, /) -> None:
        """Forget the recorded messages up to ``upto``."""
        self._check_open()
        self.unindexed_ids = [(m, i) for m, i in self.unindexed_ids if m > upto]

    async def find_by_address(self, address: str, /) -> list[str]:
        """Ids of messages to ``address``, newest first."""
        self._check_open()
        wanted = address.strip().lower()
        found = []
        for m in self.messages.values():
            envelope = m.recipients.envelope
            specs = (
                [a.addr_spec.lower() for a in m.recipients.all]
                if isinstance(m.recipients, EmailRecipients)
                else []
            )
            if wanted in (e.lower() for e in envelope) or wanted in specs:
                found.append(m)
        found.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        return [m.id for m in found]

    async def erase_scope(self, scope: str, /, *, tombstone: AuditEvent) -> list[str]:
        """Delete every message of ``scope`` and append the tombstone."""
        self._check_open()
        erased = [m.id for m in self.messages.values() if m.key_scope == scope]
        for message_id in erased:
            del self.messages[message_id]
            self._attempts.pop(message_id, None)
            self._leases.pop(message_id, None)
            self._forget_deliveries(message_id)
        self._audit[tombstone.subject].append(tombstone)
        return erased

    async def referenced_blobs(self) -> set[tuple[str, str]]:
        """Blobs referred to by stored messages."""
        self._check_open()
        return {(m.key_scope, a.sha256) for m in self.messages.values() for a in m.attachments}

    async def verify(self) -> VerifyReport:
        """Nothing here can be corrupted: every message counts as checked; those of a client
        whose keys were destroyed (and their send log) are reported, as no key opens them."""
        self._check_open()
        await self._erased.refresh()
        problems = self._erased.problems(self.messages.values(), self._attempts)
        return VerifyReport(checked=len(self.messages), problems=problems)

    async def attempts(self, message_id: str, /) -> list[SendAttempt]:
        """The send log of one message."""
        self._check_open()
        require_storable("messages", message_id)
        return list(self._attempts.get(message_id, ()))

    async def audit(self, subject: str, /) -> list[AuditEvent]:
        """Audit events about ``subject``."""
        self._check_open()
        require_storable("messages", subject)
        return list(self._audit.get(subject, ()))

    async def aclose(self) -> None:
        """Close; further calls raise :class:`UsageError`."""
        self._closed = True
