"""Recording transports (fakes): keep what was sent, refuse or fail on request."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from contos_messaging.adapters.smtp.mime import mime_stream
from contos_messaging.domain.message import Message
from contos_messaging.domain.send_log import RecipientOutcome
from contos_messaging.errors import TransportPermanentError
from contos_messaging.ports.transports import DeliveryReport, OutgoingEmail

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
    """Keeps every SMS it accepted in :attr:`sent`."""

    def __init__(
        self, name: str = "recording-sms", refuse: Mapping[str, Refusal] | None = None
    ) -> None:
        super().__init__(name, refuse)
        self.sent: list[tuple[Message, tuple[str, ...]]] = []

    async def send(
        self, sms: Message, /, *, recipients: tuple[str, ...] | None = None
    ) -> DeliveryReport:
        """Record the SMS and report per number."""
        numbers = recipients or sms.recipients.envelope
        report = self._report(numbers)
        if any(r.accepted for r in report.recipients):
            self.sent.append((sms, numbers))
        return report
