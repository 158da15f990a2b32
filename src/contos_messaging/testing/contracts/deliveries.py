"""Contract of the delivery-report part of the :class:`~contos_messaging.ports.MessageRepository`
port: provider ids stored with attempts, reports stored with a status change in one step,
erased with their message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contos_messaging.domain.delivery import DeliveryReceipt, DeliveryState
from contos_messaging.domain.integrity import Update
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.send_log import (
    AttemptKind,
    AuditAction,
    AuditEvent,
    RecipientOutcome,
    SendAttempt,
)
from contos_messaging.errors import ConcurrentModification, MessageNotFound
from contos_messaging.ports import MessageRepository
from contos_messaging.testing.contracts._messages import sms

__all__ = ["RepositoryDeliveryContract"]

S = MessageStatus
T0 = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


async def _sent(repository: MessageRepository, message: Message, *ids: str) -> Message:
    sending = message.transition(S.SENDING, at=T0)
    await repository.update(Update(sending, message))
    numbers = message.recipients.envelope
    attempt = SendAttempt(
        id=f"a-{message.id}", message_id=message.id, message_version=message.version,
        attempt_no=1, kind=AttemptKind.SEND, actor_id="jana", transport="smpp:test",
        started_at=T0, finished_at=T0, outcome=S.SENT,
        recipients=tuple(
            RecipientOutcome(n, True, 0, "OK", provider_id=p)
            for n, p in zip(numbers, ids, strict=True)
        ),
    )  # fmt: skip
    sent = sending.transition(S.SENT, at=T0)
    await repository.update(Update(sent, sending, attempt=attempt))
    return sent


def _report(provider_id: str, state: DeliveryState = DeliveryState.DELIVERED) -> DeliveryReceipt:
    return DeliveryReceipt("smpp:test", provider_id, state, T0, "+420601123456", "000", "stat")


class RepositoryDeliveryContract:
    """Delivery reports; mixed into :class:`~contos_messaging.testing.contracts.
    RepositoryContract`."""

    async def test_a_provider_id_names_its_message_on_its_transport_only(
        self, repository: MessageRepository
    ) -> None:
        message = sms(T0, to="+420601123456, +420602987654")
        await repository.add([message])
        await _sent(repository, message, "p-1", "p-2")
        assert await repository.message_for_delivery("smpp:test", "p-2") == message.id
        assert await repository.message_for_delivery("smpp:other", "p-2") is None
        assert await repository.message_for_delivery("smpp:test", "p-9") is None

    async def test_reports_are_kept_in_order_with_their_change(
        self, repository: MessageRepository
    ) -> None:
        message = sms(T0)
        await repository.add([message])
        sent = await _sent(repository, message, "p-1")
        await repository.record_delivery(message.id, _report("p-1", DeliveryState.ACCEPTED))
        delivered = sent.transition(S.DELIVERED, at=T0)
        event = AuditEvent.record("system", AuditAction.STATUS_CHANGED, message.id, at=T0)
        await repository.record_delivery(
            message.id, _report("p-1"), change=Update(delivered, sent, events=(event,))
        )
        reports = await repository.deliveries(message.id)
        assert reports == [_report("p-1", DeliveryState.ACCEPTED), _report("p-1")]
        assert (await repository.get(message.id)).status is S.DELIVERED
        assert (await repository.audit(message.id))[-1] == event
        # A change that no longer holds stores nothing, the report neither.
        with pytest.raises(ConcurrentModification):
            await repository.record_delivery(
                message.id, _report("p-1", DeliveryState.EXPIRED),
                change=Update(sent.transition(S.UNDELIVERED, at=T0), sent),
            )  # fmt: skip
        assert len(await repository.deliveries(message.id)) == 2
        assert await repository.deliveries("no-such-message") == []
        with pytest.raises(MessageNotFound):
            await repository.record_delivery("0194f297-c007-7c79-b51f-74028ac434d0", _report("x"))

    async def test_pending_reports_are_kept_once_and_taken_once(
        self, repository: MessageRepository
    ) -> None:
        assert await repository.has_pending_deliveries() is False
        await repository.note_pending_delivery(_report("p-7"))
        await repository.note_pending_delivery(_report("p-7"))  # (the same again: once)
        await repository.note_pending_delivery(_report("p-8", DeliveryState.EXPIRED))
        assert await repository.has_pending_deliveries() is True
        assert await repository.take_pending_deliveries("smpp:other", ["p-7"]) == []
        assert await repository.take_pending_deliveries("smpp:test", ["p-7", "p-9"]) == [
            _report("p-7")
        ]
        assert await repository.take_pending_deliveries("smpp:test", ["p-7"]) == []
        assert await repository.take_pending_deliveries("smpp:test", ["p-8"]) == [
            _report("p-8", DeliveryState.EXPIRED)
        ]
        assert await repository.has_pending_deliveries() is False
