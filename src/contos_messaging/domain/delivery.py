"""Delivery reports: what a gateway later says happened to a message it accepted.

An SMS gateway (an SMPP centre's ``deliver_sm`` receipt, an HTTP provider's status callback)
reports per recipient whether the message reached the handset. The gateway names the message by
its own id, the ``provider_id`` it gave when it accepted the message
(:attr:`~contos_messaging.domain.send_log.RecipientOutcome.provider_id`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.send_log import AttemptKind, SendAttempt

__all__ = [
    "DeliveryReceipt",
    "DeliveryState",
    "accepted_provider_ids",
    "latest_states",
    "status_after_reports",
]


class DeliveryState(enum.StrEnum):
    """What the gateway reported about one recipient."""

    DELIVERED = "delivered"
    """Reached the recipient's handset (SMPP ``DELIVRD``)."""
    UNDELIVERED = "undelivered"
    """Will not be delivered (SMPP ``UNDELIV``, ``REJECTD``, ``DELETED``)."""
    EXPIRED = "expired"
    """Its validity period ran out before delivery (SMPP ``EXPIRED``)."""
    ACCEPTED = "accepted"
    """Still on its way: accepted or buffered by the network (SMPP ``ACCEPTD``, ``ENROUTE``)."""
    UNKNOWN = "unknown"
    """The gateway does not know (SMPP ``UNKNOWN``) or said something we do not know."""

    @property
    def is_final(self) -> bool:
        """Whether no later report changes it."""
        return self in (DeliveryState.DELIVERED, DeliveryState.UNDELIVERED, DeliveryState.EXPIRED)


@attrs.frozen
class DeliveryReceipt:
    """One delivery report, as a transport parsed it.

    ``transport`` is the transport's :attr:`name` (as in the send log) and ``provider_id`` the
    gateway's id of the message; together they name the message and recipient it is about.
    ``recipient`` is the number the report names (E.164), if it names one.
    """

    transport: str
    provider_id: str
    state: DeliveryState
    at: datetime
    recipient: str = ""
    code: str = ""
    """The gateway's error code, if it gave one (SMPP ``err:``)."""
    text: str = ""
    """The gateway's own words (the raw receipt text, trimmed)."""


def latest_states(receipts: Iterable[DeliveryReceipt]) -> dict[str, DeliveryState]:
    """The state of each provider id after ``receipts``, whatever order they came in:
    ``DELIVERED`` if any report says so (the handset has it, whatever else was said), else
    the last final one (``UNDELIVERED`` / ``EXPIRED``), else the last one (an ``ACCEPTED``
    after a final report changes nothing)."""
    states: dict[str, DeliveryState] = {}
    for receipt in receipts:
        known = states.get(receipt.provider_id)
        if known is DeliveryState.DELIVERED:
            continue
        if known is None or not known.is_final or receipt.state.is_final:
            states[receipt.provider_id] = receipt.state
    return states


def accepted_provider_ids(message: Message, attempts: Sequence[SendAttempt]) -> tuple[str, ...]:
    """The gateway ids of the recipients the latest sending of ``message`` was accepted for:
    the attempts of its current version from the last first send or resend on."""
    current = [a for a in attempts if a.message_version == message.version]
    starts = [i for i, a in enumerate(current) if a.kind is not AttemptKind.RETRY]
    since = current[starts[-1] :] if starts else current
    return tuple(r.provider_id for a in since for r in a.recipients if r.accepted and r.provider_id)


def status_after_reports(
    status: MessageStatus, accepted: Sequence[str], states: Mapping[str, DeliveryState]
) -> MessageStatus | None:
    """Where delivery reports move a message: once every recipient the gateway accepted
    (``accepted``, their provider ids) has a final report, ``DELIVERED`` if all were delivered
    (a ``SENT`` message, or an ``UNDELIVERED`` one whose late report says delivered after
    all; a partly refused one stays ``PARTIALLY_SENT``) and ``UNDELIVERED`` if any was not;
    ``None`` while a report is missing, when nothing moves, or for a message that is not sent
    (a resend since, say). With :func:`latest_states` the result does not depend on the order
    the reports came in."""
    if status not in _REPORTED or not accepted:
        return None
    reported = [states.get(provider_id) for provider_id in accepted]
    if any(state is None or not state.is_final for state in reported):
        return None
    if all(state is DeliveryState.DELIVERED for state in reported):
        if status is MessageStatus.PARTIALLY_SENT:
            return None
        return MessageStatus.DELIVERED if status is not MessageStatus.DELIVERED else None
    return MessageStatus.UNDELIVERED if status is not MessageStatus.UNDELIVERED else None


_REPORTED = frozenset({MessageStatus.SENT, MessageStatus.PARTIALLY_SENT, MessageStatus.UNDELIVERED})
