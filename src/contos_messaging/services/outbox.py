"""The outbox loop: claim due messages under leases, send them, record what happened."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

from contos_messaging.domain.actor import Actor
from contos_messaging.domain.integrity import LeaseTerms
from contos_messaging.domain.message import Channel, MessageStatus
from contos_messaging.domain.send_log import AttemptKind
from contos_messaging.services.composing import Progress
from contos_messaging.services.deliveries import settle_sent
from contos_messaging.services.indexing import IndexUpdater
from contos_messaging.services.send_report import SendOutcome, SendReport
from contos_messaging.services.sending import Sender
from contos_messaging.services.settings import Ports

__all__ = ["Outbox", "stop_on_termination"]


class Outbox:
    """Runs ``send_due`` for one messenger and stops it on request (from any thread)."""

    def __init__(self, ports: Ports, sender: Sender, index: IndexUpdater) -> None:
        self._ports = ports
        self._sender = sender
        self._index = index
        self._stop: asyncio.Event | None = None

    def _channels(self) -> frozenset[Channel]:
        """The channels this outbox has a transport for: it claims only their messages, so a
        worker without an SMS gateway leaves SMS queued for one that has it."""
        ports = self._ports
        given = ((Channel.EMAIL, ports.email_transport), (Channel.SMS, ports.sms_transport))
        return frozenset(channel for channel, transport in given if transport is not None)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(
        self,
        limit: int | None,
        *,
        lease: timedelta,
        batch: int,
        actor: Actor,
        owner: str,
        watch: bool,
        poll: float,
        progress: Progress | None,
    ) -> SendReport:
        """Claim and send due messages in batches (see ``AsyncMessenger.send_due``)."""
        outcomes: list[SendOutcome] = []
        error = None
        remaining = limit
        stop = self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        terminating = stop_on_termination(self.stop) if watch else contextlib.nullcontext()
        with terminating:
            while not stop.is_set() and (remaining is None or remaining > 0):
                now = self._ports.clock.now()
                size = batch if remaining is None else min(batch, remaining)
                claims = await self._ports.repository.claim_due(
                    LeaseTerms(owner, now, now + lease, channels=self._channels()), limit=size
                )
                if not claims:
                    if not watch:
                        break
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), poll)
                    continue
                report, updated = await self._sender.run(
                    claims, actor=actor, kind=AttemptKind.SEND, lease=lease, owner=owner,
                    parallel=True,
                )  # fmt: skip
                await self._index.upsert(updated)
                await settle_sent(self._ports, self._index, updated)
                outcomes += report.outcomes
                error = error or report.error
                if remaining is not None:
                    remaining -= len(claims)
                if progress is not None:
                    tried = [o for o in outcomes if o.attempt is not None]
                    outcome = progress(sum(o.status is MessageStatus.SENT for o in tried),
                                       len(tried))  # fmt: skip
                    if inspect.isawaitable(outcome):
                        await outcome
                if report.error is not None and not watch:
                    break  # a transport stopped: the rest stay queued for the next run
                if report.error is not None:
                    with contextlib.suppress(TimeoutError):  # a stopped transport: back off
                        await asyncio.wait_for(stop.wait(), poll)
        return SendReport(tuple(outcomes), error)

    def stop(self) -> None:
        """Ask a running watch-mode loop to finish its batch and return (safe from any
        thread)."""
        stop, loop = self._stop, self._loop
        if stop is not None and loop is not None and not loop.is_closed():
            # Through the loop's wake-up pipe even from its own thread: a signal handler runs
            # while the loop may be waiting in select().
            loop.call_soon_threadsafe(stop.set)


@contextlib.contextmanager
def stop_on_termination(stop: Callable[[], None]) -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT call ``stop`` (which must be safe from any
    thread) instead of ending the process; outside the main thread (where Python cannot catch
    signals) it does nothing. Used by the outbox in watch mode and by the blocking twin, whose
    loop runs on a thread of its own while the caller's thread waits."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, lambda *_: stop()) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
