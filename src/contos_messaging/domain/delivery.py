"""Delivery reports: what a gateway later says happened to a message it accepted.

An SMS gateway (an SMPP centre's ``deliver_sm`` receipt, an HTTP provider's status callback)
reports per recipient whether the message reached the handset. The gateway names the message by
its own id, the ``provider_id`` it gave when it accepted the message
(:attr:`~contos_messaging.domain.send_log.RecipientOutcome.provider_id`).
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

__all__ = ["DeliveryReceipt", "DeliveryState"]


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
