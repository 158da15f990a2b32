"""Where a message is in its life: :class:`MessageStatus` and the table of allowed moves.

Re-exported by :mod:`contos_messaging.domain.message` (and :mod:`contos_messaging`); the
:class:`~contos_messaging.domain.message.Message` entity applies the table in ``transition``.
"""

from __future__ import annotations

import enum

__all__ = ["TRANSITIONS", "MessageStatus"]


class MessageStatus(enum.StrEnum):
    """Where a message is in its life. See :data:`TRANSITIONS` for the allowed moves."""

    DRAFT = "draft"
    """Composed, not yet queued or sent; may be edited."""
    QUEUED = "queued"
    """Waiting to be sent, now or at ``scheduled_at``."""
    SENDING = "sending"
    """Claimed by a sender (leased)."""
    SENT = "sent"
    """Every recipient was accepted by the server."""
    PARTIALLY_SENT = "partially_sent"
    """Some recipients were refused permanently; the rest were accepted."""
    DEFERRED = "deferred"
    """A temporary failure; retried at ``next_attempt_at``."""
    FAILED = "failed"
    """Refused permanently."""
    EXPIRED = "expired"
    """Not sent before ``expires_at``."""
    CANCELLED = "cancelled"
    """Withdrawn before it was sent."""
    DELIVERED = "delivered"
    """Sent, and the gateway reported every recipient it accepted as delivered (SMS delivery
    reports).

    .. versionadded:: 0.5"""
    UNDELIVERED = "undelivered"
    """Sent, and the gateway reported a recipient it accepted as not delivered or expired,
    every other one reported too (see :attr:`~contos_messaging.DeliveryState`).

    .. versionadded:: 0.5"""

    @property
    def is_final(self) -> bool:
        """Whether no further sending happens without an explicit resend."""
        return self in _FINAL


_S = MessageStatus
_FINAL = frozenset(
    {_S.SENT, _S.PARTIALLY_SENT, _S.FAILED, _S.EXPIRED, _S.CANCELLED, _S.DELIVERED, _S.UNDELIVERED}
)

TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    _S.DRAFT: frozenset({_S.QUEUED, _S.SENDING, _S.CANCELLED}),
    _S.QUEUED: frozenset({_S.SENDING, _S.DRAFT, _S.CANCELLED, _S.EXPIRED}),
    _S.SENDING: frozenset(
        {_S.SENT, _S.PARTIALLY_SENT, _S.DEFERRED, _S.FAILED, _S.EXPIRED, _S.QUEUED}
    ),
    _S.DEFERRED: frozenset({_S.SENDING, _S.CANCELLED, _S.EXPIRED}),
    # Final states leave only by an explicit resend (or a retry of temporarily refused recipients).
    # Delivery reports move a sent message on (every accepted recipient reported).
    _S.SENT: frozenset({_S.SENDING, _S.DELIVERED, _S.UNDELIVERED}),
    _S.PARTIALLY_SENT: frozenset({_S.SENDING, _S.UNDELIVERED}),
    _S.FAILED: frozenset({_S.SENDING}),
    _S.EXPIRED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.DELIVERED: frozenset({_S.SENDING}),
    # (a late report that the handset has it after all)
    _S.UNDELIVERED: frozenset({_S.SENDING, _S.DELIVERED}),
}
"""Allowed status moves: ``TRANSITIONS[current]`` is the set of statuses ``current`` may go to."""
