"""What a ``send`` or ``send_due`` call did: one outcome per message."""

from __future__ import annotations

import enum
from collections.abc import Iterator

import attrs

from contos_messaging.domain.message import MessageStatus
from contos_messaging.domain.send_log import SendAttempt
from contos_messaging.errors import TransportConfigurationError

__all__ = ["SendOutcome", "SendReport", "SkipReason"]

_S = MessageStatus


class SkipReason(enum.StrEnum):
    """Why a message of a selection was not handed to a transport."""

    NOT_FOUND = "not_found"
    """No message has that id (or it was erased)."""
    NO_PERMISSION = "no_permission"
    """The actor may not send it."""
    ALREADY_SENT = "already_sent"
    """It is SENT, PARTIALLY_SENT, DELIVERED or UNDELIVERED (``resend`` sends it again)."""
    ALREADY_FAILED = "already_failed"
    """It is FAILED (``resend`` tries again)."""
    CANCELLED = "cancelled"
    """It was withdrawn."""
    ALREADY_QUEUED = "already_queued"
    """``queue``: it is QUEUED or DEFERRED already (not a draft any more)."""
    EXPIRED = "expired"
    """Its ``expires_at`` had passed before this call."""
    BEING_SENT = "being_sent"
    """Another sender holds it under a lease that has not ended."""
    CHANGED = "changed"
    """It changed while this call was choosing it (edited, sent or cancelled meanwhile)."""
    LEASE_LOST = "lease_lost"
    """This sender's lease ended and another sender took it over before delivery (it was
    not handed to the transport), or before the outcome could be recorded."""
    TRANSPORT_STOPPED = "transport_stopped"
    """Its transport stopped on a configuration error (``SendReport.error``); the message
    stays QUEUED, its retries untouched."""
    NOT_RECORDED = "not_recorded"
    """Delivered, but the outcome could not be written; the message stays SENDING under its
    lease and goes again, with the same Message-ID, once the lease ends."""


@attrs.frozen
class SendOutcome:
    """What happened to one message: ``status`` is where it stands now (``None`` if there is
    no such message); ``attempt`` is the recorded attempt, ``skipped`` why there was none."""

    message_id: str
    status: MessageStatus | None
    attempt: SendAttempt | None = None
    skipped: SkipReason | None = None
    detail: str = ""


@attrs.frozen
class SendReport:
    """What one ``send`` / ``send_due`` call did, one :class:`SendOutcome` per message (in the
    order asked for); ``error`` is the configuration error that stopped a transport, if any.

    A selection is never refused as a whole: each message has its own outcome.
    """

    outcomes: tuple[SendOutcome, ...] = ()
    error: TransportConfigurationError | None = None

    def __iter__(self) -> Iterator[SendOutcome]:
        return iter(self.outcomes)

    def __len__(self) -> int:
        return len(self.outcomes)

    def outcome(self, message_id: str) -> SendOutcome:
        """The outcome of one message; :class:`KeyError` if it was not part of the call."""
        for outcome in self.outcomes:
            if outcome.message_id == message_id:
                return outcome
        raise KeyError(message_id)

    @property
    def attempts(self) -> tuple[SendAttempt, ...]:
        """The attempts recorded, one per message that was tried."""
        return tuple(o.attempt for o in self.outcomes if o.attempt is not None)

    @property
    def not_attempted(self) -> tuple[str, ...]:
        """Ids of messages that were not tried (see :attr:`skipped` for why)."""
        return tuple(o.message_id for o in self.outcomes if o.attempt is None)

    @property
    def skipped(self) -> dict[str, SkipReason]:
        """``{id: reason}`` of messages that were not tried."""
        return {o.message_id: o.skipped for o in self.outcomes if o.skipped is not None}

    def _with(self, status: MessageStatus) -> tuple[str, ...]:
        return tuple(
            o.message_id for o in self.outcomes if o.attempt is not None and o.status is status
        )

    @property
    def sent(self) -> tuple[str, ...]:
        """Ids of messages every recipient accepted."""
        return self._with(_S.SENT)

    @property
    def partially_sent(self) -> tuple[str, ...]:
        """Ids of messages some recipients refused permanently."""
        return self._with(_S.PARTIALLY_SENT)

    @property
    def deferred(self) -> tuple[str, ...]:
        """Ids of messages that failed temporarily and will be retried."""
        return self._with(_S.DEFERRED)

    @property
    def failed(self) -> tuple[str, ...]:
        """Ids of messages refused permanently (or that used up their attempts)."""
        return self._with(_S.FAILED)

    @property
    def expired(self) -> tuple[str, ...]:
        """Ids of messages whose ``expires_at`` passed before they could go."""
        return self._with(_S.EXPIRED)

    def __add__(self, other: SendReport) -> SendReport:
        return SendReport(self.outcomes + other.outcomes, self.error or other.error)
