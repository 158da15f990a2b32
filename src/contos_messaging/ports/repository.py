"""Message repository port: metadata, content, links, send log, audit and the outbox queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from contos_messaging.domain.delivery import DeliveryReceipt
from contos_messaging.domain.integrity import Claim, LeaseTerms, Update, VerifyReport
from contos_messaging.domain.message import Message
from contos_messaging.domain.page import Page
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.send_log import AuditEvent, SendAttempt

__all__ = ["MessageRepository"]


class MessageRepository(Protocol):
    """**Protocol**: where messages live.

    Writes are atomic: :meth:`add` stores all given messages and events or none;
    :meth:`update` changes one message and appends its attempt and events together, and only if
    the stored message still matches ``expected`` (same status, version and attempt count),
    otherwise it raises :class:`~contos_messaging.errors.ConcurrentModification`.

    .. versionadded:: 0.1
    """

    async def add(
        self,
        messages: Sequence[Message],
        /,
        *,
        events: Sequence[AuditEvent] = (),
        idempotency_keys: Sequence[str | None] = (),
    ) -> dict[str, str]:
        """Store new messages; :class:`~contos_messaging.errors.AlreadyExists` if an id is taken.

        ``idempotency_keys`` (empty, or one per message, ``None`` for none) makes a retried
        call harmless: a message whose key is already stored (by any process) is not stored
        again, nor are the events about it. Returns ``{new id: stored id}`` for those.

        .. versionchanged:: 0.2 ``idempotency_keys`` and the returned mapping.
        """
        ...

    async def get(self, message_id: str, /) -> Message:
        """Return one message; :class:`~contos_messaging.errors.MessageNotFound` if absent."""
        ...

    async def get_many(self, message_ids: Sequence[str], /) -> list[Message]:
        """Return messages in the order of ``message_ids``; raise if any is absent."""
        ...

    async def update(self, change: Update, /) -> None:
        """Replace ``change.expected`` by ``change.message`` (compare-and-set) and append its
        attempt and log entries.

        With ``change.lease_token`` the update also requires the message's current lease to
        carry that token (a late write from an expired lease is refused); the lease ends with
        the update.

        .. versionchanged:: 0.3 takes one :class:`~contos_messaging.domain.integrity.Update`
        """
        ...

    async def update_many(self, updates: Sequence[Update], /) -> list[str]:
        """Apply several :class:`~contos_messaging.domain.integrity.Update` in one transaction;
        those whose compare-and-set fails are skipped and their ids returned."""
        ...

    async def list_messages(self, query: MessageQuery, /) -> Page[Message]:
        """One page of the messages that pass ``query``'s filters
        (:meth:`~contos_messaging.MessageQuery.admits`), newest first (creation time, then id);
        ``query.page_size(MessageQuery.LIST_PAGE)`` of them from ``query.offset``, with the
        number of all that pass. The query comes checked: an adapter does not check it again.

        .. versionchanged:: 0.3 replaces ``list_linked(entity, **filters)``
        """
        ...

    async def due(self, now: datetime, /, *, limit: int = 100) -> list[str]:
        """Ids of messages due for sending at ``now`` (QUEUED whose time has come, DEFERRED whose
        retry time has come), oldest first."""
        ...

    async def claim_due(self, terms: LeaseTerms, /, *, limit: int = 100) -> list[Claim]:
        """Atomically claim up to ``limit`` messages due at ``terms.now`` (see :meth:`due`,
        plus SENDING ones whose lease expired): each becomes SENDING, leased to ``terms.owner``
        until ``terms.until`` under a fresh token. Two claimers never get the same message.

        .. versionchanged:: 0.3 takes :class:`~contos_messaging.domain.integrity.LeaseTerms`
        """
        ...

    async def claim(
        self, messages: Sequence[Message], terms: LeaseTerms, /, *, queued_by: str | None = None
    ) -> list[Claim | None]:
        """Claim chosen messages for sending now (``send``, ``resend``), in one transaction.

        Each message still stored as given (same status, version and attempt count) becomes
        SENDING, leased to ``terms.owner`` until ``terms.until`` under a fresh token, and
        records ``queued_by`` (when given) as who queued it, at ``terms.now``. A message given
        as SENDING is taken over only if its lease has expired by ``terms.now``. The result
        holds, in order, a :class:`Claim` or ``None`` (changed meanwhile, gone, or leased to
        another sender).

        .. versionadded:: 0.2
        .. versionchanged:: 0.3 takes :class:`~contos_messaging.domain.integrity.LeaseTerms`
        """
        ...

    async def renew(self, claims: Sequence[Claim], /, *, lease_until: datetime) -> list[str]:
        """Extend the leases still held under the claims' tokens to ``lease_until`` (the
        heartbeat of a running batch); return the ids whose lease was lost (taken over, or
        ended by a recorded outcome).

        .. versionadded:: 0.2
        """
        ...

    async def lease(self, message_id: str, token: str, /) -> datetime | None:
        """When the lease held under ``token`` ends, or ``None`` if ``token`` no longer holds
        the message (checked right before each delivery).

        .. versionadded:: 0.2
        """
        ...

    async def scan(self, /, *, after: str | None = None, limit: int = 500) -> list[Message]:
        """Messages in id order (creation order), starting after the id ``after``: walks the
        whole store page by page (reindexing, exports)."""
        ...

    async def message_ids(self, /, *, after: str | None = None, limit: int = 5000) -> list[str]:
        """Message ids in id order after ``after`` (cheap: nothing is decrypted)."""
        ...

    async def note_unindexed(self, message_ids: Sequence[str], /) -> None:
        """Record, for every messenger on the store, messages whose change the search index did
        not get here (another messenger writes the index); that one picks them up.

        .. versionadded:: 0.5
        """
        ...

    async def unindexed(self, /, *, limit: int = 1000) -> list[tuple[int, str]]:
        """``(mark, message id)`` of the messages recorded so, oldest first.

        .. versionadded:: 0.5
        """
        ...

    async def forget_unindexed(self, upto: int, /) -> None:
        """Forget the messages recorded up to mark ``upto`` (the index has them now).

        .. versionadded:: 0.5
        """
        ...

    async def find_by_address(self, address: str, /) -> list[str]:
        """Ids of messages sent to ``address`` (exact, case-insensitive), newest first."""
        ...

    async def erase_scope(self, scope: str, /, *, tombstone: AuditEvent) -> list[str]:
        """Delete every message sealed in ``scope`` (with its links, address-index rows and
        send log) and append ``tombstone``; return the erased ids."""
        ...

    async def referenced_blobs(self) -> set[tuple[str, str]]:
        """``(scope, key)`` of every blob a stored message refers to (its attachments)."""
        ...

    async def verify(self) -> VerifyReport:
        """Open every stored object and report the ones that fail."""
        ...

    async def attempts(self, message_id: str, /) -> list[SendAttempt]:
        """The send log of a message, oldest first."""
        ...

    async def audit(self, subject: str, /) -> list[AuditEvent]:
        """Audit events about ``subject`` (a message id or ``client:<id>``), oldest first."""
        ...

    async def message_for_delivery(self, transport: str, provider_id: str, /) -> str | None:
        """The id of the message whose recipient ``transport``'s gateway named ``provider_id``
        when it accepted it (:attr:`RecipientOutcome.provider_id` of a stored attempt), or
        ``None``.

        .. versionadded:: 0.5
        """
        ...

    async def record_delivery(
        self, message_id: str, receipt: DeliveryReceipt, /, *, change: Update | None = None
    ) -> None:
        """Store a delivery report about ``message_id`` (sealed like the send log) and, in the
        same transaction, ``change``, compare-and-set as :meth:`update`; raises
        :class:`~contos_messaging.errors.MessageNotFound` for no such message.

        .. versionadded:: 0.5
        """
        ...

    async def note_pending_delivery(self, receipt: DeliveryReceipt, /) -> None:
        """Keep a report that names no stored attempt yet (sealed; the same one once): another
        process may be storing the attempt right now.

        .. versionadded:: 0.5
        """
        ...

    async def has_pending_deliveries(self) -> bool:
        """Whether any report is kept pending (a cheap check before a send takes them up).

        .. versionadded:: 0.5
        """
        ...

    async def take_pending_deliveries(
        self, transport: str, provider_ids: Sequence[str], /
    ) -> list[DeliveryReceipt]:
        """The pending reports of ``transport`` naming ``provider_ids``, removed (atomically:
        two takers never both get one); pending reports older than a week may be dropped.

        .. versionadded:: 0.5
        """
        ...

    async def deliveries(self, message_id: str, /) -> list[DeliveryReceipt]:
        """The delivery reports of a message, in the order stored (empty for an id that names
        nothing).

        .. versionadded:: 0.5
        """
        ...

    async def aclose(self) -> None:
        """Release resources."""
        ...
