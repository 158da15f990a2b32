"""Transport ports: hand e-mails and SMS to a server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import attrs

from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.delivery import DeliveryReceipt
from contos_messaging.domain.message import Message
from contos_messaging.domain.send_log import RecipientOutcome

__all__ = [
    "DeliveryReport",
    "EmailTransport",
    "OutgoingEmail",
    "ReceiptHandler",
    "ReportsDeliveries",
    "SmsTransport",
]


@attrs.frozen
class OutgoingEmail:
    """An e-mail ready to go: the message and the content of each attachment, in order."""

    message: Message
    attachments: tuple[tuple[Attachment, bytes], ...] = ()
    recipients: tuple[str, ...] | None = None
    """Envelope recipients to send to; ``None`` means all of the message's recipients."""


@attrs.frozen
class DeliveryReport:
    """What the server answered, per recipient."""

    transport: str
    recipients: tuple[RecipientOutcome, ...]
    reply: str = ""


class EmailTransport(Protocol):
    """**Protocol**: sends e-mails.

    :meth:`send` returns a report when the server took the message for at least some recipients
    or refused recipients one by one. It raises
    :class:`~contos_messaging.errors.TransportTemporaryError` (retry later),
    :class:`~contos_messaging.errors.TransportPermanentError` (whole message refused) or
    :class:`~contos_messaging.errors.TransportConfigurationError` (stop this transport).

    .. versionadded:: 0.1
    """

    @property
    def name(self) -> str:
        """A short name for the send log (``smtp:mail.example.com``)."""
        ...

    @property
    def max_message_size(self) -> int | None:
        """The configured size limit in bytes (encoded), known without connecting, or ``None``
        for none: a new e-mail is checked against it when it is composed. :meth:`size_limit`,
        the limit in force, is never above it.

        .. versionadded:: 0.3
        """
        ...

    async def size_limit(self) -> int | None:
        """The largest message (in bytes, encoded) the transport takes now, or ``None`` for no
        limit: checked against the message's size from metadata before any attachment is
        loaded. An SMTP transport answers with its configured limit or the server's SIZE,
        whichever is smaller (it may connect to learn it).

        .. versionadded:: 0.2
        """
        ...

    async def send(self, email: OutgoingEmail, /) -> DeliveryReport:
        """Send one e-mail."""
        ...

    async def aclose(self) -> None:
        """Close connections."""
        ...


class SmsTransport(Protocol):
    """**Protocol**: sends SMS through a gateway; errors as for :class:`EmailTransport`.

    .. versionadded:: 0.1
    """

    @property
    def name(self) -> str:
        """A short name for the send log."""
        ...

    async def send(
        self, sms: Message, /, *, recipients: tuple[str, ...] | None = None
    ) -> DeliveryReport:
        """Send one SMS to ``recipients`` (E.164; ``None``: all of the message's numbers)."""
        ...

    async def aclose(self) -> None:
        """Close connections."""
        ...


ReceiptHandler = Callable[[DeliveryReceipt], Awaitable[None]]
"""Called by a transport with each delivery report it receives; it returns when the report is
stored, and the transport acknowledges the report to the gateway only then."""


@runtime_checkable
class ReportsDeliveries(Protocol):
    """**Protocol**: a transport that receives delivery reports itself (an SMPP session's
    ``deliver_sm``). The messenger hands it its handler when it is opened with it; reports
    that come another way (an HTTP provider's callback to the host) are given to
    :meth:`~contos_messaging.AsyncMessenger.record_delivery` by the host.

    .. versionadded:: 0.5
    """

    def set_receipt_handler(self, handler: ReceiptHandler | None, /) -> None:
        """Deliver each report received from now on to ``handler`` (``None``: stop)."""
        ...
