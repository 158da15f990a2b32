"""Sending claimed messages: each one under a lease that the heartbeat keeps and that is
checked right before delivery; each outcome committed as soon as it is known; any error of one
message ends only that message's attempt."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from contos_messaging.domain.actor import Actor
from contos_messaging.domain.ids import uuid7
from contos_messaging.domain.integrity import Claim, Update
from contos_messaging.domain.message import Channel, Message, MessageStatus
from contos_messaging.domain.mime_size import encoded_size
from contos_messaging.domain.send_log import AttemptKind, RecipientOutcome, SendAttempt
from contos_messaging.errors import (
    NoTransport,
    TransportConfigurationError,
    TransportError,
    TransportPermanentError,
    TransportTemporaryError,
)
from contos_messaging.ports import DeliveryReport, OutgoingEmail
from contos_messaging.services.leases import Heartbeat, OutcomeWriter, Recorded
from contos_messaging.services.send_report import SendOutcome, SendReport, SkipReason
from contos_messaging.services.settings import MessengerSettings, Ports

__all__ = ["Sender", "outcome_of", "pending_recipients", "retry_delay"]

log = logging.getLogger("contos_messaging.send")
_S = MessageStatus


def retry_delay(attempt: int, settings: MessengerSettings, rng: random.Random) -> timedelta:
    """Exponential backoff with +-20 % jitter: ``retry_base * 2**(attempt-1)``, capped."""
    base = settings.retry_base.total_seconds() * (2 ** max(0, min(attempt - 1, 60)))
    capped = min(base, settings.retry_max.total_seconds())
    return timedelta(seconds=capped * rng.uniform(0.8, 1.2))


def pending_recipients(message: Message, log_: Sequence[SendAttempt]) -> tuple[str, ...]:
    """Envelope recipients still to be tried.

    Starting from the last SEND or RESEND attempt, recipients that were accepted or refused
    permanently are done; only the rest (never tried, or refused temporarily) are pending.
    """
    done: set[str] = set()
    for attempt in log_:
        if attempt.message_version != message.version:
            continue
        if attempt.kind in (AttemptKind.SEND, AttemptKind.RESEND):
            done = set()
        for outcome in attempt.recipients:
            if outcome.accepted or not outcome.temporary:
                done.add(outcome.recipient)
    return tuple(r for r in message.recipients.envelope if r not in done)


def _since_last_send(message: Message, log_: Sequence[SendAttempt]) -> list[RecipientOutcome]:
    """Recipient outcomes of this version since its last SEND or RESEND attempt."""
    outcomes: list[RecipientOutcome] = []
    for attempt in log_:
        if attempt.message_version != message.version:
            continue
        if attempt.kind in (AttemptKind.SEND, AttemptKind.RESEND):
            outcomes = []
        outcomes += attempt.recipients
    return outcomes


def outcome_of(
    report: DeliveryReport, earlier_accepted: bool, earlier_refused: bool = False
) -> MessageStatus:
    """The status a message reaches after a report: SENT, PARTIALLY_SENT, DEFERRED or FAILED.
    ``earlier_*``: whether earlier attempts of a retry had recipients accepted, or refused
    permanently (those are not tried again, but still count)."""
    outcomes = report.recipients
    if any(not r.accepted and r.temporary for r in outcomes):
        return _S.DEFERRED
    accepted = earlier_accepted or any(r.accepted for r in outcomes)
    refused = earlier_refused or any(not r.accepted for r in outcomes)
    if not refused:
        return _S.SENT
    return _S.PARTIALLY_SENT if accepted else _S.FAILED


@attrs.frozen
class _Run:
    """What one batch shares: who runs it, as which kind, the lease keeper and the writer."""

    actor: Actor
    kind: AttemptKind
    owner: str
    heartbeat: Heartbeat
    writer: OutcomeWriter
    stopped: dict[Channel, TransportConfigurationError]


_Result = SendOutcome | tuple[Claim, Message, SendAttempt, "asyncio.Future[Recorded]"]


class Sender:
    """Sends claimed messages through the ports, recording every attempt."""

    def __init__(
        self,
        ports: Ports,
        settings: MessengerSettings,
        rng: random.Random | None = None,
    ) -> None:
        self._ports = ports
        self._settings = settings
        self._rng = rng or random.Random()
        transport = ports.email_transport
        self._parallel = max(1, int(getattr(transport, "connections", 1)))
        # Attempts handed to a transport and not yet recorded (or given back): a delivery
        # report can arrive before the attempt naming its provider id is stored.
        self._in_flight: set[asyncio.Future[None]] = set()

    async def settled(self) -> None:
        """Return once every attempt in flight now is recorded or given up (the attempts
        started later are not waited for)."""
        pending = list(self._in_flight)
        if pending:
            await asyncio.wait(pending)

    async def run(
        self,
        claims: Sequence[Claim],
        *,
        actor: Actor,
        kind: AttemptKind,
        lease: timedelta,
        owner: str,
        parallel: bool,
    ) -> tuple[SendReport, list[Message]]:
        """Send claimed messages (over several connections at once when ``parallel``, else in
        the order given); return one outcome per claim and the messages as they ended up."""
        repo, clock = self._ports.repository, self._ports.clock
        heartbeat = Heartbeat(repo, clock, lease, claims)
        run = _Run(actor, kind, owner, heartbeat, OutcomeWriter(repo, heartbeat), {})
        results: dict[str, _Result] = {}
        slots = asyncio.Semaphore(self._parallel if parallel else 1)

        async def one(claim: Claim) -> None:
            async with slots:
                results[claim.message.id] = await self._one(run, claim)

        beat = asyncio.create_task(heartbeat.run())
        try:
            if parallel and self._parallel > 1:
                await asyncio.gather(*(one(claim) for claim in claims))
            else:
                for claim in claims:
                    await one(claim)
            await run.writer.drain()  # the heartbeat keeps the leases until it is done
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        outcomes: list[SendOutcome] = []
        updated: list[Message] = []
        for claim in claims:
            result = results[claim.message.id]
            if isinstance(result, SendOutcome):
                outcomes.append(result)
                continue
            _claim, final, attempt, recorded = result
            outcomes.append(self._settled(final, attempt, recorded.result()))
            if recorded.result() is Recorded.YES:
                updated.append(final)
        error = next(iter(run.stopped.values()), None)
        return SendReport(tuple(outcomes), error), updated

    @staticmethod
    def _settled(final: Message, attempt: SendAttempt, recorded: Recorded) -> SendOutcome:
        if recorded is Recorded.YES:
            return SendOutcome(final.id, final.status, attempt)
        if recorded is Recorded.LEASE_LOST:
            return SendOutcome(
                final.id, _S.SENDING, None, SkipReason.LEASE_LOST,
                "delivered, but another sender had taken the lease over before the outcome "
                "was recorded; that sender records it",
            )  # fmt: skip
        return SendOutcome(
            final.id, _S.SENDING, None, SkipReason.NOT_RECORDED,
            f"{attempt.outcome.value}, but the outcome could not be recorded; it goes again "
            "when the lease ends",
        )  # fmt: skip

    async def _one(self, run: _Run, claim: Claim) -> _Result:
        """Try one claimed message (:meth:`_try`), in flight until its outcome is recorded."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight.add(done)

        def finish(_: object = None) -> None:
            self._in_flight.discard(done)
            if not done.done():
                done.set_result(None)

        try:
            result = await self._try(run, claim)
        except BaseException:
            finish()
            raise
        if isinstance(result, tuple):
            result[3].add_done_callback(finish)
        else:
            finish()
        return result

    async def _try(self, run: _Run, claim: Claim) -> _Result:
        """Try one claimed message; never raises for a fault of this message."""
        message = claim.message
        clock = self._ports.clock
        started = clock.now()
        if message.channel in run.stopped:
            await self._release(claim, None)
            return SendOutcome(message.id, _S.QUEUED, None, SkipReason.TRANSPORT_STOPPED,
                               str(run.stopped[message.channel]))  # fmt: skip
        if message.expires_at is not None and started >= message.expires_at:
            attempt = self._attempt(run, message, run.kind, started, _S.EXPIRED, (), "expired")
            return self._submit(run, claim, message.transition(_S.EXPIRED, at=started), attempt)
        kind = run.kind
        error: str | None = None
        outcomes: tuple[RecipientOutcome, ...] = ()
        wait: float | None = None  # (seconds the server asked to wait before a retry)
        recipients = message.recipients.envelope
        try:
            # A first attempt has no history to read (the usual case: saves a read a message).
            first = kind is AttemptKind.SEND and message.attempts <= 1
            history = (
                [] if first or kind is AttemptKind.RESEND
                else await self._ports.repository.attempts(message.id)
            )  # fmt: skip
            if kind is AttemptKind.SEND and any(
                a.message_version == message.version for a in history
            ):
                kind = AttemptKind.RETRY
            recipients = (
                pending_recipients(message, history)
                if kind is AttemptKind.RETRY
                else message.recipients.envelope
            )
            earlier = _since_last_send(message, history) if kind is AttemptKind.RETRY else []
            earlier_accepted = any(r.accepted for r in earlier)
            earlier_refused = any(not r.accepted and not r.temporary for r in earlier)
            if not await run.heartbeat.holds(claim):
                return SendOutcome(message.id, _S.SENDING, None, SkipReason.LEASE_LOST,
                                   "the lease ended before delivery; not handed over")  # fmt: skip
            report = await self._deliver(message, recipients)
            outcomes = report.recipients
            status = outcome_of(report, earlier_accepted, earlier_refused)
        except TransportConfigurationError as exc:
            # Stop this transport; the message keeps its retries and goes back to the queue.
            log.error("transport stopped: %s", exc)
            run.stopped.setdefault(message.channel, exc)
            attempt = self._attempt(run, message, kind, started, _S.QUEUED, (), str(exc))
            await self._release(claim, attempt)
            return SendOutcome(message.id, _S.QUEUED, None, SkipReason.TRANSPORT_STOPPED, str(exc))
        except TransportTemporaryError as exc:
            status, error = _S.DEFERRED, str(exc)
            outcomes = self._whole(recipients, exc, temporary=True)
            wait = exc.retry_after
        except TransportPermanentError as exc:
            status, error = _S.FAILED, str(exc)
            outcomes = self._whole(recipients, exc, temporary=False)
        except Exception as exc:  # any other fault ends this attempt only, with its error logged
            log.warning("sending %s failed", message.id, exc_info=True)
            status, error = _S.DEFERRED, f"{type(exc).__name__}: {exc}"
        finished = clock.now()
        next_at = None
        if status is _S.DEFERRED:
            if message.expires_at is not None and finished >= message.expires_at:
                status = _S.EXPIRED
            elif message.attempts >= self._settings.max_attempts:
                status = _S.FAILED
                error = f"{error or 'temporary failure'}; gave up after {message.attempts} attempts"
            else:
                delay = retry_delay(message.attempts, self._settings, self._rng)
                if wait is not None and 0 < wait < 366 * 86400:  # (the server's word, bounded)
                    delay = max(delay, timedelta(seconds=wait))
                next_at = finished + delay
        final = message.transition(status, at=finished, next_attempt_at=next_at)
        attempt = self._attempt(run, message, kind, started, status, outcomes, error)
        return self._submit(run, claim, final, attempt)

    @staticmethod
    def _submit(run: _Run, claim: Claim, final: Message, attempt: SendAttempt) -> _Result:
        update = Update(final, claim.message, attempt, (), claim.token)
        return claim, final, attempt, run.writer.submit(update)

    async def _release(self, claim: Claim, attempt: SendAttempt | None) -> None:
        """Give a claimed message back without using a retry: untouched (no ``attempt``), as
        it was before the claim; tried (its transport stopped), QUEUED for a later run."""
        message = claim.message
        now = self._ports.clock.now()
        if attempt is None and claim.previous is not None:
            back = attrs.evolve(claim.previous, updated_at=now)
            if back.status is _S.SENDING:  # taken over from a dead sender: queue it again
                back = attrs.evolve(back, status=_S.QUEUED)
        else:
            back = message.transition(_S.QUEUED, at=now)
            back = attrs.evolve(back, attempts=message.attempts - 1)
        try:
            await self._ports.repository.update(
                Update(back, message, attempt=attempt, lease_token=claim.token)
            )
        except Exception:  # lost or unwritable: the lease ends and the outbox takes it back
            log.warning("the lease of %s could not be given back", message.id, exc_info=True)

    async def _deliver(self, message: Message, recipients: tuple[str, ...]) -> DeliveryReport:
        ports = self._ports
        if message.channel is Channel.EMAIL:
            transport = ports.email_transport
            if transport is None:
                raise NoTransport("email")
            size, limit = encoded_size(message), await transport.size_limit()
            if limit is not None and size > limit:
                raise TransportPermanentError(
                    f"the message is about {size:,} bytes encoded, over the limit of {limit:,}",
                    transport=transport.name,
                    code=552,
                )
            contents = []
            for attachment in message.attachments:
                data = await ports.blobs.get(message.key_scope, attachment.sha256)
                contents.append((attachment, data))
            return await transport.send(OutgoingEmail(message, tuple(contents), recipients))
        if ports.sms_transport is None:
            raise NoTransport("sms")
        return await ports.sms_transport.send(message, recipients=recipients)

    def _transport_name(self, message: Message) -> str:
        transport = (
            self._ports.email_transport
            if message.channel is Channel.EMAIL
            else self._ports.sms_transport
        )
        return transport.name if transport is not None else "none"

    @staticmethod
    def _whole(
        recipients: tuple[str, ...], exc: TransportError, *, temporary: bool
    ) -> tuple[RecipientOutcome, ...]:
        return tuple(
            RecipientOutcome(r, False, exc.code, exc.reply or str(exc), temporary)
            for r in recipients
        )

    def _attempt(
        self,
        run: _Run,
        message: Message,
        kind: AttemptKind,
        started: datetime,
        outcome: MessageStatus,
        recipients: tuple[RecipientOutcome, ...],
        error: str | None,
    ) -> SendAttempt:
        finished = self._ports.clock.now()
        return SendAttempt(
            id=uuid7(finished),
            message_id=message.id,
            message_version=message.version,
            attempt_no=message.attempts,
            kind=kind,
            actor_id=run.actor.id,
            transport=self._transport_name(message),
            started_at=started,
            finished_at=finished,
            outcome=outcome,
            recipients=recipients,
            error=error,
            queued_by=message.queued_by,
            queued_at=message.queued_at,
            worker=run.owner,
        )
