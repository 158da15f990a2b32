"""Resending: a message that was sent, partly sent or failed goes again to all its recipients,
with the same content and Message-ID, logged as a resend."""

from __future__ import annotations

from datetime import timedelta

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.message import MessageStatus
from contos_messaging.domain.send_log import AttemptKind, SendAttempt
from contos_messaging.errors import ConcurrentModification, IllegalTransition
from contos_messaging.services.core import Core
from contos_messaging.services.deliveries import settle_sent
from contos_messaging.services.send import send_chosen

__all__ = ["resend"]

_RESENDABLE = (
    MessageStatus.SENT,
    MessageStatus.PARTIALLY_SENT,
    MessageStatus.FAILED,
    MessageStatus.DELIVERED,
    MessageStatus.UNDELIVERED,
)
LEASE = timedelta(minutes=5)


async def resend(core: Core, actor: Actor, message_id: str) -> SendAttempt:
    """See ``AsyncMessenger.resend``."""
    ports = core.ports
    message = await ports.repository.get(message_id)
    ports.permissions.check(actor, Permission.RESEND, message)
    if message.status not in _RESENDABLE:
        raise IllegalTransition(message.id, message.status.value, "resend")
    report, updated = await send_chosen(
        ports, core.sender, actor, [message.id],
        kind=AttemptKind.RESEND, lease=LEASE, owner=core.owner,
    )  # fmt: skip
    await core.index.upsert(updated)
    await settle_sent(core.ports, core.index, updated)
    if report.error is not None:
        raise report.error
    (outcome,) = report.outcomes
    if outcome.attempt is None:
        raise ConcurrentModification(message.id)
    return outcome.attempt
