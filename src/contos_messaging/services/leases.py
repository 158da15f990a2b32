"""Keeping a running batch's leases: the heartbeat that renews them, the check right before
each delivery, and the writer that commits each outcome as soon as it is known."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Sequence
from datetime import timedelta

from contos_messaging.domain.integrity import Claim, Update
from contos_messaging.ports import Clock, MessageRepository

__all__ = ["Heartbeat", "OutcomeWriter", "Recorded"]

log = logging.getLogger("contos_messaging.send")

# A lease is renewed when a third of it has passed; a delivery starts only while at least half
# of it is left (or right after a renewal), so it has that long before anyone may take over.
RENEW_FRACTION = 3
MIN_LEFT_FRACTION = 2
# Writing an outcome is tried this often (waiting 50 ms, doubling) before it is given up; the
# message then stays SENDING under its lease and goes again once the lease ends.
WRITE_TRIES = 6
WRITE_RETRY_SECONDS = 0.05


class Heartbeat:
    """Renews the leases of a batch's unfinished messages every third of the lease, on the
    messenger's clock, and tells whether a lease still holds right before a delivery."""

    def __init__(
        self, repository: MessageRepository, clock: Clock, lease: timedelta, claims: Sequence[Claim]
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._lease = lease
        self._active = {claim.message.id: claim for claim in claims}
        self.lost: set[str] = set()

    async def run(self) -> None:
        """Renew until cancelled."""
        interval = self._lease.total_seconds() / RENEW_FRACTION
        while True:
            await self._clock.sleep(interval)
            await self.renew(list(self._active.values()))

    async def renew(self, claims: Sequence[Claim]) -> bool:
        """Renew these leases now; False if any was lost (or the renewal failed)."""
        if not claims:
            return True
        try:
            lost = await self._repository.renew(claims, lease_until=self._clock.now() + self._lease)
        except Exception:  # the next beat tries again; deliveries check the lease themselves
            log.warning("renewing %d leases failed", len(claims), exc_info=True)
            return False
        for message_id in lost:
            if self._active.pop(message_id, None) is not None:
                self.lost.add(message_id)
                log.warning("lease of %s was lost: it will not be delivered here", message_id)
        return not lost

    async def holds(self, claim: Claim) -> bool:
        """Whether the lease still holds with at least half of it left (renewing it here when
        less is left): checked, under its token, right before the message is delivered."""
        message_id = claim.message.id
        if message_id in self.lost or message_id not in self._active:
            return False
        try:
            until = await self._repository.lease(message_id, claim.token)
        except Exception:
            log.warning("checking the lease of %s failed", message_id, exc_info=True)
            return False
        if until is None:
            self._active.pop(message_id, None)
            self.lost.add(message_id)
            return False
        if until - self._clock.now() >= self._lease / MIN_LEFT_FRACTION:
            return True
        return await self.renew([claim])

    def finish(self, message_id: str) -> None:
        """The outcome is recorded: stop renewing this lease."""
        self._active.pop(message_id, None)


class Recorded(enum.Enum):
    """What became of an outcome handed to :class:`OutcomeWriter`."""

    YES = "recorded"
    LEASE_LOST = "lease_lost"
    FAILED = "failed"


class OutcomeWriter:
    """Commits outcomes as soon as they come: one transaction at a time, holding every outcome
    that arrived while the previous one committed (group commit), each fenced by its lease
    token. A failing write is retried; it never makes a message go again at once."""

    def __init__(self, repository: MessageRepository, heartbeat: Heartbeat) -> None:
        self._repository = repository
        self._heartbeat = heartbeat
        self._pending: list[tuple[Update, asyncio.Future[Recorded]]] = []
        self._task: asyncio.Task[None] | None = None

    def submit(self, update: Update) -> asyncio.Future[Recorded]:
        """Queue one outcome for the next commit."""
        future: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._pending.append((update, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())
        return future

    async def drain(self) -> None:
        """Wait until every submitted outcome is committed (or given up)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            result = await self._write([update for update, _future in batch])
            for update, future in batch:
                message_id = update.message.id
                if result is None:
                    outcome = Recorded.FAILED
                else:
                    outcome = Recorded.LEASE_LOST if message_id in result else Recorded.YES
                    self._heartbeat.finish(message_id)
                if not future.done():
                    future.set_result(outcome)

    async def _write(self, updates: list[Update]) -> set[str] | None:
        delay = WRITE_RETRY_SECONDS
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                return set(await self._repository.update_many(updates))
            except Exception:
                log.warning(
                    "recording %d outcomes failed (try %d of %d)",
                    len(updates), attempt, WRITE_TRIES, exc_info=True,
                )  # fmt: skip
                if attempt < WRITE_TRIES:
                    await asyncio.sleep(delay)
                    delay *= 2
        log.error("outcomes of %s could not be recorded", [u.message.id for u in updates])
        return None
