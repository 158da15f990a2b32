"""The append-only record of sending attempts and of everything done to messages."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from contos_messaging.domain.ids import uuid7
from contos_messaging.domain.message import MessageStatus

__all__ = ["AttemptKind", "AuditAction", "AuditEvent", "RecipientOutcome", "SendAttempt"]


class AttemptKind(enum.StrEnum):
    """Why an attempt was made."""

    SEND = "send"
    """The first attempt (sent now or by the outbox)."""
    RETRY = "retry"
    """A retry after a temporary failure."""
    RESEND = "resend"
    """An explicit resend of a message that was already handled."""


@attrs.frozen
class RecipientOutcome:
    """What the server said about one recipient."""

    recipient: str
    accepted: bool
    code: int | None = None
    reply: str = ""
    temporary: bool = False
    """The refusal is temporary (4xx): the recipient is retried."""
    provider_id: str = ""
    """The gateway's id of the message for this recipient (an SMPP ``message_id``, an HTTP
    provider's id), which its delivery reports name; empty when it gave none.

    .. versionadded:: 0.5
    """


@attrs.frozen
class SendAttempt:
    """One attempt to send one version of a message: who, when, where, and the outcome."""

    id: str
    message_id: str
    message_version: int
    attempt_no: int
    kind: AttemptKind
    actor_id: str
    transport: str
    started_at: datetime
    finished_at: datetime
    outcome: MessageStatus
    recipients: tuple[RecipientOutcome, ...] = ()
    error: str | None = None
    queued_by: str | None = None
    """Who queued the message for sending (``actor_id`` is who ran this attempt: the clerk
    who pressed send, or the outbox's actor)."""
    queued_at: datetime | None = None
    """When it was queued."""
    worker: str = ""
    """Which sender carried it: ``host:pid:...`` of the process that held the lease."""

    @property
    def accepted(self) -> tuple[str, ...]:
        """Recipients the server accepted in this attempt."""
        return tuple(r.recipient for r in self.recipients if r.accepted)

    @property
    def refused(self) -> tuple[str, ...]:
        """Recipients the server refused in this attempt."""
        return tuple(r.recipient for r in self.recipients if not r.accepted)


class AuditAction(enum.StrEnum):
    """What was done."""

    CREATED = "created"
    EDITED = "edited"
    STATUS_CHANGED = "status_changed"
    CANCELLED = "cancelled"
    ERASED = "erased"
    KEY_ROTATED = "key_rotated"


def _details(value: Mapping[str, str]) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()}


@attrs.frozen
class AuditEvent:
    """An append-only audit record. ``subject`` is a message id, or ``client:<id>`` for erasure
    tombstones."""

    id: str
    at: datetime
    actor_id: str
    action: AuditAction
    subject: str
    details: Mapping[str, str] = attrs.field(factory=dict, converter=_details, hash=False)

    @classmethod
    def record(
        cls, actor_id: str, action: AuditAction, subject: str, *, at: datetime, **details: str
    ) -> AuditEvent:
        """The event of ``actor_id`` doing ``action`` to ``subject`` at ``at``, with a fresh
        time-ordered id: the one way the services write audit events."""
        return cls(uuid7(at), at, actor_id, action, subject, details)
