"""Recording transports (fakes): keep what was sent, refuse or fail on request."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import attrs

from contos_messaging.adapters.smtp.mime import mime_stream
from contos_messaging.domain.delivery import DeliveryReceipt, DeliveryState
from contos_messaging.domain.message import Message
from contos_messaging.domain.send_log import RecipientOutcome
from contos_messaging.errors import InvalidInput, TransportPermanentError, UsageError
from contos_messaging.ports.transports import DeliveryReport, OutgoingEmail, ReceiptHandler

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "RecordingEmailTransport",
    "RecordingSmsTransport",
    "Refusal",
]

DEFAULT_MAX_MESSAGE_SIZE = 25 * 1024 * 1024
"""The default size limit of e-mail transports, in bytes (what most providers accept)."""


@attrs.frozen
class Refusal:
    """How a fake transport answers one recipient: ``Refusal(550, "no such user")``."""

    code: int
    reply: str = ""

    @property
    def temporary(self) -> bool:
        """4xx codes are temporary."""
        return 400 <= self.code < 500


class _Recording:
    def __init__(self, name: str, refuse: Mapping[str, Refusal] | None) -> None:
        self._name = name
        self.refuse: dict[str, Refusal] = dict(refuse or {})
        self._failures: list[Exception] = []
        self.closed = False

    @property
    def name(self) -> str:
        """The transport's name in the send log."""
        return self._name

    def fail_next(self, *errors: Exception) -> None:
        """Make the next sends raise these errors, one per send (any exception: a transport
        error, or a foreign one such as a host callback's ``RuntimeError``)."""
        self._failures.extend(errors)

    def _report(self, recipients: tuple[str, ...]) -> DeliveryReport:
        if self._failures:
            raise self._failures.pop(0)
        outcomes = []
        for rcpt in recipients:
            refusal = self.refuse.get(rcpt)
            if refusal is None:
                outcomes.append(RecipientOutcome(rcpt, True, 250, "OK"))
            else:
                outcomes.append(
                    RecipientOutcome(rcpt, False, refusal.code, refusal.reply, refusal.temporary)
                )
        return DeliveryReport(transport=self._name, recipients=tuple(outcomes), reply="250 OK")

    async def aclose(self) -> None:
        """Mark closed."""
        self.closed = True


class RecordingEmailTransport(_Recording):
    """Keeps every e-mail it accepted in :attr:`sent`.

    ``refuse`` maps envelope addresses to refusals; :meth:`fail_next` injects transport errors.
    """

    def __init__(
        self,
        name: str = "recording-email",
        refuse: Mapping[str, Refusal] | None = None,
        *,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        super().__init__(name, refuse)
        self.sent: list[OutgoingEmail] = []
        self.max_message_size = max_message_size

    async def size_limit(self) -> int | None:
        """``max_message_size`` (25 MiB by default, as :class:`SMTPTransport`)."""
        return self.max_message_size

    async def send(self, email: OutgoingEmail, /) -> DeliveryReport:
        """Record the e-mail and report per recipient; refuse it (552) when its RFC 5322 form
        is over the size limit, counted to the byte as the SMTP transport counts it."""
        size = mime_stream(email).size
        if self.max_message_size is not None and size > self.max_message_size:
            raise TransportPermanentError(
                f"the message is {size:,} bytes, over the limit of {self.max_message_size:,}",
                transport=self.name, code=552,
            )  # fmt: skip
        recipients = email.recipients or email.message.recipients.envelope
        report = self._report(recipients)
        if any(r.accepted for r in report.recipients):
            self.sent.append(email)
        return report


class RecordingSmsTransport(_Recording):
    """Keeps every SMS it accepted in :attr:`sent`; gives each accepted number a provider id
    (:attr:`provider_ids`, by message id and number) and, like an SMPP session, hands delivery
    reports to the messenger's handler: :meth:`report` plays the gateway."""

    def __init__(
        self, name: str = "recording-sms", refuse: Mapping[str, Refusal] | None = None
    ) -> None:
        super().__init__(name, refuse)
        self.sent: list[tuple[Message, tuple[str, ...]]] = []
        self.provider_ids: dict[tuple[str, str], str] = {}
        self._issued = 0
        self._handler: ReceiptHandler | None = None

    def set_receipt_handler(self, handler: ReceiptHandler | None, /) -> None:
        """Deliver reports from :meth:`report` to ``handler`` (the messenger sets it)."""
        self._handler = handler

    async def send(
        self, sms: Message, /, *, recipients: tuple[str, ...] | None = None
    ) -> DeliveryReport:
        """Record the SMS and report per number."""
        numbers = recipients or sms.recipients.envelope
        report = self._report(numbers)
        outcomes = []
        for outcome in report.recipients:
            if outcome.accepted:
                self._issued += 1
                provider_id = f"{self._name}-{self._issued}"
                self.provider_ids[(sms.id, outcome.recipient)] = provider_id
                outcome = attrs.evolve(outcome, provider_id=provider_id)
            outcomes.append(outcome)
        if any(r.accepted for r in report.recipients):
            self.sent.append((sms, numbers))
        return attrs.evolve(report, recipients=tuple(outcomes))

    async def report(
        self,
        message_id: str,
        number: str,
        state: DeliveryState | str,
        *,
        at: datetime | None = None,
        code: str = "",
    ) -> None:
        """Deliver the gateway's report that the SMS ``message_id`` reached ``number`` (or
        did not) to the messenger, as an SMPP ``deliver_sm`` would; :class:`UsageError` when
        no messenger listens or that number was never sent that message."""
        if self._handler is None:
            raise UsageError("no messenger receives this transport's delivery reports")
        provider_id = self.provider_ids.get((message_id, number))
        if provider_id is None:
            raise UsageError(f"{number} was not sent the SMS {message_id} here")
        try:
            state = DeliveryState(state)
        except ValueError:
            raise InvalidInput(f"no delivery state {state!r}") from None
        when = at or datetime.now(UTC)
        await self._handler(DeliveryReceipt(self._name, provider_id, state, when, number, code))
