"""Delivery reports: match a gateway's report to the message it names, store it, and move the
message to DELIVERED or UNDELIVERED once every recipient it was accepted for is reported
(``domain/delivery.py`` holds the rule)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from contos_messaging.domain.actor import Actor
from contos_messaging.domain.delivery import (
    DeliveryReceipt,
    DeliveryState,
    accepted_provider_ids,
    latest_states,
    status_after_reports,
)
from contos_messaging.domain.integrity import Update
from contos_messaging.domain.message import Channel, Message, MessageStatus
from contos_messaging.domain.send_log import AuditAction, AuditEvent
from contos_messaging.errors import (
    ConcurrentModification,
    InvalidInput,
    KeyUnavailable,
    MessageNotFound,
    UsageError,
)
from contos_messaging.services.indexing import IndexUpdater
from contos_messaging.services.settings import Ports

if TYPE_CHECKING:
    from contos_messaging.services.core import Core

__all__ = ["deliveries", "record_delivery"]

log = logging.getLogger("contos_messaging")

# Compare-and-set retries when the message changes under a report (a resend, another report).
_TRIES = 5
_MAX_FIELD = 1_000


def _checked(receipt: object) -> DeliveryReceipt:
    """A plain copy of ``receipt`` (its time in UTC) if it is a report a store can keep, else
    :class:`InvalidInput` saying what is wrong; each field is read once."""
    if not isinstance(receipt, DeliveryReceipt):
        raise InvalidInput(f"expected a DeliveryReceipt, got {type(receipt).__name__}")
    texts: dict[str, str] = {}
    for name in ("transport", "provider_id", "recipient", "code", "text"):
        value = getattr(receipt, name)
        if not isinstance(value, str):
            raise InvalidInput(f"DeliveryReceipt.{name} must be text, got {type(value).__name__}")
        if len(value) > _MAX_FIELD:
            raise InvalidInput(f"DeliveryReceipt.{name} is over {_MAX_FIELD:,} characters")
        texts[name] = value
    if not texts["transport"] or not texts["provider_id"]:
        raise InvalidInput("a delivery report needs the transport and the provider id it names")
    state, at = receipt.state, receipt.at
    if not isinstance(state, DeliveryState):
        raise InvalidInput(f"DeliveryReceipt.state must be a DeliveryState, got {state!r:.40}")
    if not isinstance(at, datetime):
        raise InvalidInput("DeliveryReceipt.at must be a datetime with a time zone")
    try:
        offset = at.utcoffset()
        moment = at.astimezone(UTC) if offset is not None else None
    except (ValueError, TypeError, OverflowError):
        raise InvalidInput("DeliveryReceipt.at is not a time in the range of dates") from None
    if moment is None:
        raise InvalidInput("DeliveryReceipt.at must be a datetime with a time zone")
    return DeliveryReceipt(
        texts["transport"], texts["provider_id"], state, moment, texts["recipient"],
        texts["code"], texts["text"],
    )  # fmt: skip


def _repository_part(core: Core) -> None:
    for name in ("message_for_delivery", "record_delivery", "deliveries"):
        if not callable(getattr(core.ports.repository, name, None)):
            raise UsageError(
                f"this messenger's repository has no {name}(): it does not keep delivery"
                " reports (a host-written repository adds message_for_delivery,"
                " record_delivery and deliveries)"
            )


async def record_delivery(core: Core, receipt: DeliveryReceipt) -> str | None:
    """See ``AsyncMessenger.record_delivery``."""
    receipt = _checked(receipt)
    _repository_part(core)
    repository = core.ports.repository
    message_id = await repository.message_for_delivery(receipt.transport, receipt.provider_id)
    if message_id is None:
        # The report may have overtaken the attempt that names its id (sent, not yet stored).
        await core.sender.settled()
        message_id = await repository.message_for_delivery(receipt.transport, receipt.provider_id)
    if message_id is None:
        return await _pending(core, receipt)
    return await _store(core.ports, core.index, message_id, receipt)


async def _pending(core: Core, receipt: DeliveryReceipt) -> str | None:
    """Keep a report no stored attempt names yet: another process may be sending it right now
    (a web process took the provider's callback while a worker sends). The attempt, once
    stored, takes it up (:func:`settle_sent`); if it was stored meanwhile, this takes it up."""
    repository = core.ports.repository
    note = getattr(repository, "note_pending_delivery", None)
    if not callable(note):
        log.info(
            "a delivery report from %s names %r, which no message here was sent as",
            receipt.transport, receipt.provider_id,
        )  # fmt: skip
        return None
    await note(receipt)
    # (the sender records its attempt, then looks for pending reports; this keeps the report,
    # then looks for the attempt: one of the two sees the other)
    message_id = await repository.message_for_delivery(receipt.transport, receipt.provider_id)
    if message_id is None:
        log.info(
            "a delivery report from %s names %r, which no message here was sent as (yet):"
            " kept for a week in case its attempt is being stored",
            receipt.transport, receipt.provider_id,
        )  # fmt: skip
        return None
    for taken in await repository.take_pending_deliveries(receipt.transport, [receipt.provider_id]):
        await _store(core.ports, core.index, message_id, taken)
    return message_id


async def _store(
    ports: Ports, index: IndexUpdater, message_id: str, receipt: DeliveryReceipt
) -> str | None:
    """Store a report of ``message_id`` (once) with the status change it makes, then settle
    the status on every stored report."""
    repository = ports.repository
    by = f"delivery report from {receipt.transport}"
    try:
        for _ in range(_TRIES):
            message = await repository.get(message_id)
            earlier = await repository.deliveries(message_id)
            if receipt in earlier:  # the gateway sent it again (its acknowledgement was lost)
                break
            change = await _change(ports, message, [*earlier, receipt], by)
            try:
                await repository.record_delivery(message_id, receipt, change=change)
            except ConcurrentModification:
                continue
            if change is not None:
                await index.upsert([change.message])
            break
        else:
            raise ConcurrentModification(message_id)
        # A report stored beside this one (another process, another task) may have read the
        # reports before this one was stored: settle the status on all of them now.
        await _settle(ports, index, message_id, by)
    except (MessageNotFound, KeyUnavailable):  # erased since it was sent: nothing to keep
        return None
    return message_id


async def _change(
    ports: Ports, message: Message, reports: list[DeliveryReceipt], by: str
) -> Update | None:
    """The status change ``reports`` make to ``message`` (with its audit entry), if any."""
    attempts = await ports.repository.attempts(message.id)
    moved_to = status_after_reports(
        message.status, accepted_provider_ids(message, attempts), latest_states(reports)
    )
    if moved_to is None:
        return None
    now = ports.clock.now()
    event = AuditEvent.record(
        Actor.system().id, AuditAction.STATUS_CHANGED, message.id, at=now,
        **{"from": message.status.value, "to": moved_to.value, "by": by},
    )  # fmt: skip
    return Update(message.transition(moved_to, at=now), message, events=(event,))


async def _settle(ports: Ports, index: IndexUpdater, message_id: str, by: str) -> None:
    """Move the message to where all its stored reports say, compare-and-set."""
    repository = ports.repository
    for _ in range(_TRIES):
        message = await repository.get(message_id)
        change = await _change(ports, message, await repository.deliveries(message_id), by)
        if change is None:
            return
        try:
            await repository.update(change)
        except ConcurrentModification:
            continue
        await index.upsert([change.message])
        return
    raise ConcurrentModification(message_id)


async def settle_sent(ports: Ports, index: IndexUpdater, messages: Iterable[Message]) -> None:
    """After a send: the reports that came before this attempt was stored are taken up (kept
    pending by another process, or stored while the message waited for a retry), and the SMS
    moves on from what its reports say."""
    repository = ports.repository
    if not callable(getattr(repository, "deliveries", None)):
        return
    sent = [m for m in messages if m.channel is Channel.SMS and m.status in _SENT]
    if not sent:
        return
    has_pending = getattr(repository, "has_pending_deliveries", None)
    pending = callable(has_pending) and await has_pending()
    by = "delivery reports received before this send"
    for message in sent:
        with contextlib.suppress(MessageNotFound, KeyUnavailable, ConcurrentModification):
            if pending:
                await _take_pending(ports, index, message)
            if await repository.deliveries(message.id):
                await _settle(ports, index, message.id, by)


async def _take_pending(ports: Ports, index: IndexUpdater, message: Message) -> None:
    repository = ports.repository
    attempts = await repository.attempts(message.id)
    if not attempts:
        return
    last = attempts[-1]
    ids = [r.provider_id for r in last.recipients if r.accepted and r.provider_id]
    for receipt in await repository.take_pending_deliveries(last.transport, ids):
        await _store(ports, index, message.id, receipt)


_SENT = (MessageStatus.SENT, MessageStatus.PARTIALLY_SENT)


async def deliveries(core: Core, message_id: str) -> list[DeliveryReceipt]:
    """See ``AsyncMessenger.deliveries``."""
    _repository_part(core)
    await core.ports.repository.get(message_id)
    return await core.ports.repository.deliveries(message_id)
