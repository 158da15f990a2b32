"""Cancelling a message that is not sent yet (DRAFT, QUEUED or DEFERRED)."""

from __future__ import annotations

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.integrity import Update
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.send_log import AuditAction, AuditEvent
from contos_messaging.errors import IllegalTransition
from contos_messaging.services.core import Core

__all__ = ["cancel"]

_CANCELLABLE = (MessageStatus.DRAFT, MessageStatus.QUEUED, MessageStatus.DEFERRED)


async def cancel(core: Core, actor: Actor, message_id: str) -> Message:
    """See ``AsyncMessenger.cancel``."""
    ports = core.ports
    message = await ports.repository.get(message_id)
    ports.permissions.check(actor, Permission.CANCEL, message)
    if message.status not in _CANCELLABLE:
        raise IllegalTransition(message.id, message.status.value, MessageStatus.CANCELLED.value)
    now = ports.clock.now()
    cancelled = message.transition(MessageStatus.CANCELLED, at=now)
    event = AuditEvent.record(
        actor.id, AuditAction.CANCELLED, message.id, at=now, **{"from": message.status.value}
    )
    await ports.repository.update(Update(cancelled, message, events=[event]))
    await core.index.upsert([cancelled])
    return cancelled
