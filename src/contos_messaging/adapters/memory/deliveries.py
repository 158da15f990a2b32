"""Delivery reports of the in-memory message repository (the fake of the SQLite one's
``deliveries`` part: the same checks, the same answers)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from contos_messaging.adapters._shared.text import require_storable
from contos_messaging.domain.delivery import DeliveryReceipt
from contos_messaging.domain.integrity import Update
from contos_messaging.domain.message import Message
from contos_messaging.domain.send_log import SendAttempt
from contos_messaging.errors import InvalidInput, MessageNotFound, UsageError

__all__ = ["InMemoryDeliveries"]


class InMemoryDeliveries:
    """Provider ids and delivery reports, mixed into
    :class:`~contos_messaging.adapters.memory.InMemoryMessageRepository`."""

    messages: dict[str, Message]
    _closed: bool

    def __init__(self) -> None:
        self._provider_refs: dict[tuple[str, str], str] = {}
        self._deliveries: dict[str, list[DeliveryReceipt]] = defaultdict(list)
        self._pending: list[DeliveryReceipt] = []

    async def update(self, change: Update, /) -> None:  # (the repository's)
        raise NotImplementedError

    def _note_provider_ids(self, attempt: SendAttempt) -> None:
        for r in attempt.recipients:
            if r.accepted and r.provider_id:
                self._provider_refs[(attempt.transport, r.provider_id)] = attempt.message_id

    def _forget_deliveries(self, message_id: str) -> None:
        self._deliveries.pop(message_id, None)
        for key in [k for k, v in self._provider_refs.items() if v == message_id]:
            del self._provider_refs[key]

    async def message_for_delivery(self, transport: str, provider_id: str, /) -> str | None:
        """The message whose recipient the gateway named ``provider_id``, or ``None``."""
        if self._closed:
            raise UsageError("the repository is closed")
        for value in (transport, provider_id):
            require_storable("delivery reports", value)
        found = self._provider_refs.get((transport, provider_id))
        return found if found in self.messages else None

    async def record_delivery(
        self, message_id: str, receipt: DeliveryReceipt, /, *, change: Update | None = None
    ) -> None:
        """Store a report (and ``change``, compare-and-set) in one step."""
        if self._closed:
            raise UsageError("the repository is closed")
        if change is not None and change.message.id != message_id:
            raise InvalidInput("a delivery report's change must be of its message")
        for value in (receipt.transport, receipt.provider_id, receipt.recipient, receipt.code):
            require_storable("delivery reports", value)
        require_storable("delivery reports", receipt.text)
        if message_id not in self.messages:
            raise MessageNotFound(message_id)
        if change is not None:
            await self.update(change)
        if receipt not in self._deliveries[message_id]:  # (kept once, as the SQLite one)
            self._deliveries[message_id].append(receipt)

    async def note_pending_delivery(self, receipt: DeliveryReceipt, /) -> None:
        """Keep a report that names no stored attempt yet (once)."""
        if self._closed:
            raise UsageError("the repository is closed")
        for value in (receipt.transport, receipt.provider_id, receipt.recipient, receipt.code):
            require_storable("delivery reports", value)
        require_storable("delivery reports", receipt.text)
        if receipt not in self._pending:
            self._pending.append(receipt)

    async def has_pending_deliveries(self) -> bool:
        """Whether any report waits for its attempt."""
        return bool(self._pending)

    async def take_pending_deliveries(
        self, transport: str, provider_ids: Sequence[str], /
    ) -> list[DeliveryReceipt]:
        """The pending reports naming ``provider_ids`` of ``transport``, removed."""
        if self._closed:
            raise UsageError("the repository is closed")
        wanted = set(provider_ids)
        taken = [r for r in self._pending if r.transport == transport and r.provider_id in wanted]
        self._pending = [r for r in self._pending if r not in taken]
        return taken

    async def deliveries(self, message_id: str, /) -> list[DeliveryReceipt]:
        """The reports of a message, in the order stored."""
        if self._closed:
            raise UsageError("the repository is closed")
        require_storable("messages", message_id)
        return list(self._deliveries.get(message_id, ()))
