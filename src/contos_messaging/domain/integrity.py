"""Results of store verification and outbox claims."""

from __future__ import annotations

import attrs

from contos_messaging.domain.message import Message

__all__ = ["Claim", "IntegrityProblem", "VerifyReport"]


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
class Claim:
    """A message claimed for sending: it is SENDING, leased to one owner until a time; only the
    holder of ``token`` may record its outcome."""

    message: Message
    token: str
