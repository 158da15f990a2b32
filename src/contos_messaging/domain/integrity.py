"""Results of store verification and outbox claims."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from contos_messaging.domain.message import Channel, Message
from contos_messaging.domain.send_log import AuditEvent, SendAttempt

__all__ = ["Claim", "IntegrityProblem", "LeaseTerms", "Update", "VerifyReport"]


@attrs.frozen
class IntegrityProblem:
    """One stored object that failed to open, and why."""

    object_id: str
    reason: str


@attrs.frozen
class VerifyReport:
    """What :meth:`verify` found: how many objects were opened and which ones failed."""

    checked: int
    problems: tuple[IntegrityProblem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every object opened."""
        return not self.problems

    def __add__(self, other: VerifyReport) -> VerifyReport:
        return VerifyReport(self.checked + other.checked, self.problems + other.problems)


@attrs.frozen
class LeaseTerms:
    """The lease a claim asks for: taken by ``owner`` at ``now``, held until ``until`` unless
    renewed; ``channels``, when given, limits :meth:`~contos_messaging.ports.MessageRepository.
    claim_due` to messages of those channels (the outbox asks only for the channels it has a
    transport for).

    .. versionchanged:: 0.5 ``channels``
    """

    owner: str
    now: datetime
    until: datetime
    channels: frozenset[Channel] | None = None


@attrs.frozen
class Claim:
    """A message claimed for sending: it is SENDING, leased to one owner until a time; only the
    holder of ``token`` may record its outcome."""

    message: Message
    token: str
    until: datetime | None = None
    """When the lease ends unless renewed."""
    previous: Message | None = None
    """The message as it was before the claim (a claim given back untouched restores it)."""


def _events(events: Iterable[AuditEvent]) -> tuple[AuditEvent, ...]:
    return tuple(events)


@attrs.frozen
class Update:
    """One compare-and-set of a message: the new state, the state it must still have, the send
    attempt and audit events to append with it, and the lease token that must still hold."""

    message: Message
    expected: Message
    attempt: SendAttempt | None = None
    events: tuple[AuditEvent, ...] = attrs.field(default=(), converter=_events)
    lease_token: str | None = None
