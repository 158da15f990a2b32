"""Sending one message: claim it, hand it to its transport, record the attempt and the outcome."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from contos_messaging.domain.actor import Actor
from contos_messaging.domain.ids import uuid7
from contos_messaging.domain.integrity import Claim, Update
from contos_messaging.domain.message import Channel, Message, MessageStatus
from contos_messaging.domain.send_log import AttemptKind, RecipientOutcome, SendAttempt
from contos_messaging.errors import (
    ConcurrentModification,
    MessagingError,
    TransportConfigurationError,
    TransportError,
    TransportPermanentError,
    TransportTemporaryError,
)
from contos_messaging.ports import DeliveryReport, OutgoingEmail
from contos_messaging.services.settings import MessengerSettings, Ports

__all__ = ["SendReport", "Sender", "outcome_of", "pending_recipients", "retry_delay"]

log = logging.getLogger("contos_messaging.send")
_S = MessageStatus


@attrs.frozen
class SendReport:
    """What one ``send`` call did.

    ``attempts`` holds one entry per message that was tried; ``not_attempted`` the ids left
    untouched because a transport stopped (``error`` says why) or the message changed meanwhile.
    """

    attempts: tuple[SendAttempt, ...] = ()
    not_attempted: tuple[str, ...] = ()
    error: TransportConfigurationError | None = None

    def _with(self, outcome: MessageStatus) -> tuple[str, ...]:
        return tuple(a.message_id for a in self.attempts if a.outcome is outcome)

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
        """Ids of messages refused permanently."""
        return self._with(_S.FAILED)


def retry_delay(attempt: int, settings: MessengerSettings, rng: random.Random) -> timedelta:
    """Exponential backoff with +-20 % jitter: ``retry_base * 2**(attempt-1)``, capped."""
    base = settings.retry_base.total_seconds() * (2 ** max(0, attempt - 1))
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


def outcome_of(report: DeliveryReport, earlier_accepted: bool) -> MessageStatus:
    """The status a message reaches after a report: SENT, PARTIALLY_SENT, DEFERRED or FAILED."""
    outcomes = report.recipients
    if any(not r.accepted and r.temporary for r in outcomes):
        return _S.DEFERRED
    accepted = earlier_accepted or any(r.accepted for r in outcomes)
    refused = any(not r.accepted for r in outcomes)
    if not refused:
        return _S.SENT
    return _S.PARTIALLY_SENT if accepted else _S.FAILED


class Sender:
    """Sends messages one by one through the ports, recording every attempt."""

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

    async def send_all(
        self, actor: Actor, items: Sequence[Message | Claim], kind: AttemptKind
    ) -> tuple[SendReport, list[Message]]:
        """Send messages (claimed here) or outbox claims (claimed already, under a lease);
        return the report and the messages as they ended up."""
        attempts: list[SendAttempt] = []
        updated: list[Message] = []
        not_attempted: list[str] = []
        stopped: dict[Channel, TransportConfigurationError] = {}
        # Outcomes of claimed messages are committed together at the end (one transaction):
        # a crash before that commit sends them again when their leases expire, which is the
        # documented at-least-once case.
        pending: list[Update] = []
        slots = asyncio.Semaphore(self._parallel)

        async def one(item: Message | Claim) -> None:
            message = item.message if isinstance(item, Claim) else item
            async with slots:
                if message.channel in stopped:
                    if isinstance(item, Claim):
                        await self._release(item)
                    not_attempted.append(message.id)
                    return
                try:
                    attempt, final = await self._send_one(actor, item, kind, pending)
                except ConcurrentModification:
                    # Changed meanwhile, or our lease expired and another sender took over:
                    # that sender records the outcome (the e-mail may go twice, same Message-ID).
                    log.warning("message %s changed while being sent; not recorded", message.id)
                    not_attempted.append(message.id)
                    return
                except TransportConfigurationError as exc:
                    stopped[message.channel] = exc
                    not_attempted.append(message.id)
                    return
                attempts.append(attempt)
                updated.append(final)

        # Claimed messages go out over several connections at once (each message is still one
        # SMTP transaction); messages sent "now" go one after the other, in the order given.
        claims_only = bool(items) and all(isinstance(item, Claim) for item in items)
        if claims_only and self._parallel > 1:
            await asyncio.gather(*(one(item) for item in items))
        else:
            for item in items:
                await one(item)
        if pending:
            lost = set(await self._ports.repository.update_many(pending))
            if lost:
                log.warning("leases lost before the outcomes were recorded: %s", sorted(lost))
                attempts = [a for a in attempts if a.message_id not in lost]
                updated = [m for m in updated if m.id not in lost]
                not_attempted += sorted(lost)
        error = next(iter(stopped.values()), None)
        return SendReport(tuple(attempts), tuple(not_attempted), error), updated

    async def _release(self, claim: Claim) -> None:
        """Give a claimed message back to the queue untouched (its retry is not used)."""
        message = claim.message
        back = message.transition(_S.QUEUED, at=self._ports.clock.now())
        try:
            await self._ports.repository.update(
                attrs.evolve(back, attempts=message.attempts - 1),
                expected=message,
                lease_token=claim.token,
            )
        except ConcurrentModification:
            log.warning("lease of %s was lost before it could be released", message.id)

    async def _deliver(self, message: Message, recipients: tuple[str, ...]) -> DeliveryReport:
        ports = self._ports
        if message.channel is Channel.EMAIL:
            if ports.email_transport is None:
                raise TransportConfigurationError("no e-mail transport is configured")
            contents = []
            for attachment in message.attachments:
                data = await ports.blobs.get(message.key_scope, attachment.sha256)
                contents.append((attachment, data))
            return await ports.email_transport.send(
                OutgoingEmail(message, tuple(contents), recipients)
            )
        if ports.sms_transport is None:
            raise TransportConfigurationError("no SMS transport is configured")
        return await ports.sms_transport.send(message, recipients=recipients)

    def _transport_name(self, message: Message) -> str:
        transport = (
            self._ports.email_transport
            if message.channel is Channel.EMAIL
            else self._ports.sms_transport
        )
        return transport.name if transport is not None else "none"

    async def _send_one(
        self,
        actor: Actor,
        item: Message | Claim,
        kind: AttemptKind,
        pending: list[Update] | None = None,
    ) -> tuple[SendAttempt, Message]:
        repo, clock = self._ports.repository, self._ports.clock
        started = clock.now()
        token = item.token if isinstance(item, Claim) else None
        message = item.message if isinstance(item, Claim) else item
        history = await repo.attempts(message.id) if kind is not AttemptKind.RESEND else []
        if kind is AttemptKind.SEND and any(a.message_version == message.version for a in history):
            kind = AttemptKind.RETRY
        recipients = (
            pending_recipients(message, history)
            if kind is AttemptKind.RETRY
            else message.recipients.envelope
        )
        earlier_accepted = kind is AttemptKind.RETRY and any(
            r.accepted for a in history for r in a.recipients
        )
        if token is None:
            claimed = message.transition(_S.SENDING, at=started)
            await repo.update(claimed, expected=message)
            before_attempts = message.attempts
        else:
            claimed = message  # the outbox claimed it: SENDING, leased to us under `token`
            before_attempts = message.attempts - 1
        if claimed.expires_at is not None and started >= claimed.expires_at:
            expired = claimed.transition(_S.EXPIRED, at=started)
            attempt = self._attempt(actor, claimed, kind, started, _S.EXPIRED, (), "expired")
            await repo.update(expired, expected=claimed, attempt=attempt, lease_token=token)
            return attempt, expired
        error: str | None = None
        outcomes: tuple[RecipientOutcome, ...] = ()
        try:
            report = await self._deliver(claimed, recipients)
            outcomes = report.recipients
            status = outcome_of(report, earlier_accepted)
        except TransportConfigurationError as exc:
            # Stop this transport; the message keeps its retries and goes back to the queue.
            log.error("transport stopped: %s", exc)
            back = claimed.transition(_S.QUEUED, at=clock.now())
            attempt = self._attempt(actor, claimed, kind, started, _S.QUEUED, (), str(exc))
            await repo.update(
                attrs.evolve(back, attempts=before_attempts),
                expected=claimed,
                attempt=attempt,
                lease_token=token,
            )
            raise
        except TransportTemporaryError as exc:
            status, error = _S.DEFERRED, str(exc)
            outcomes = self._whole(recipients, exc, temporary=True)
        except TransportPermanentError as exc:
            status, error = _S.FAILED, str(exc)
            outcomes = self._whole(recipients, exc, temporary=False)
        except (TransportError, MessagingError) as exc:
            status, error = _S.DEFERRED, f"{type(exc).__name__}: {exc}"
        finished = clock.now()
        next_at = None
        if status is _S.DEFERRED:
            if claimed.expires_at is not None and finished >= claimed.expires_at:
                status = _S.EXPIRED
            elif claimed.attempts >= self._settings.max_attempts:
                status = _S.FAILED
                error = f"{error or 'temporary failure'}; gave up after {claimed.attempts} attempts"
            else:
                next_at = finished + retry_delay(claimed.attempts, self._settings, self._rng)
        final = claimed.transition(status, at=finished, next_attempt_at=next_at)
        attempt = self._attempt(actor, claimed, kind, started, status, outcomes, error)
        if token is not None and pending is not None:
            pending.append(Update(final, claimed, attempt, (), token))
        else:
            await repo.update(final, expected=claimed, attempt=attempt, lease_token=token)
        return attempt, final

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
        actor: Actor,
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
            actor_id=actor.id,
            transport=self._transport_name(message),
            started_at=started,
            finished_at=finished,
            outcome=outcome,
            recipients=recipients,
            error=error,
        )
