"""Transport ports: hand e-mails and SMS to a server."""

from __future__ import annotations

from typing import Protocol

import attrs

from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.message import Message
from contos_messaging.domain.send_log import RecipientOutcome

__all__ = ["DeliveryReport", "EmailTransport", "OutgoingEmail", "SmsTransport"]


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
