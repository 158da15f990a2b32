"""SMTPTransport: e-mail over SMTP with aiosmtplib, STARTTLS or implicit TLS, one reused
connection, server replies mapped to per-recipient outcomes and to the error tree."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Literal

import aiosmtplib

from contos_messaging.adapters.smtp.mime import MimeStream, mime_stream
from contos_messaging.adapters.smtp.ratelimit import RateLimiter
from contos_messaging.domain.send_log import RecipientOutcome
from contos_messaging.errors import (
    AuthenticationFailed,
    ConfigurationError,
    TLSFailure,
    TransportConfigurationError,
    TransportError,
    TransportPermanentError,
    TransportTemporaryError,
    TransportTimeout,
)
from contos_messaging.ports.transports import DeliveryReport, OutgoingEmail

__all__ = ["SMTPTransport", "Security"]

# Pieces of DATA smaller than this together are written at once.
_WRITE_BYTES = 64 * 1024

Security = Literal["starttls", "tls", "plain"]
TokenSource = Callable[[], Awaitable[str]]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _error_for(code: int, text: str, transport: str) -> TransportError:
    if code == 535 or code == 530:
        return AuthenticationFailed(f"{code} {text}", transport=transport, code=code, reply=text)
    if 400 <= code < 500:
        return TransportTemporaryError(f"{code} {text}", transport=transport, code=code,
                                       reply=text)  # fmt: skip
    return TransportPermanentError(f"{code} {text}", transport=transport, code=code, reply=text)


class SMTPTransport:
    """Sends e-mails through one SMTP server, reusing one connection.

    ``security``: ``"starttls"`` (default, port 587), ``"tls"`` (implicit TLS, port 465) or
    ``"plain"`` (refused unless ``allow_plaintext`` and the host is a loopback address).
    Certificates are verified; ``ca_file`` adds a private CA. Authenticate with ``username`` and
    ``password`` (PLAIN/LOGIN) or ``username`` and ``oauth_token`` (XOAUTH2; an async callable
    returning a fresh access token). Messages larger than ``max_message_size`` or the server's
    SIZE are refused before DATA. Up to ``connections`` connections are open at once, each
    reused for consecutive messages (bulk sends use them in parallel). ``rate_limit`` caps the
    messages per second across all of them (providers throttle or block bursts).
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        oauth_token: TokenSource | None = None,
        ca_file: str | None = None,
        allow_plaintext: bool = False,
        timeout: float = 30.0,
        max_message_size: int = 25 * 1024 * 1024,
        connections: int = 4,
        rate_limit: float | None = None,
        name: str | None = None,
    ) -> None:
        if security == "plain" and not (allow_plaintext and _is_loopback(host)):
            raise ConfigurationError(
                "plaintext SMTP is only allowed to a loopback address with allow_plaintext=True"
            )
        if password is not None and oauth_token is not None:
            raise ConfigurationError("give a password or an OAuth token source, not both")
        self._host = host
        self._port = port or {"starttls": 587, "tls": 465, "plain": 25}[security]
        self._security: Security = security
        self._username = username
        self._password = password
        self._oauth_token = oauth_token
        self._timeout = timeout
        self._max_size = max_message_size
        self._name = name or f"smtp:{host}:{self._port}"
        self._tls_context = ssl.create_default_context(cafile=ca_file)
        if connections < 1:
            raise ConfigurationError("connections must be at least 1")
        self._idle: list[aiosmtplib.SMTP] = []
        self._open: set[aiosmtplib.SMTP] = set()
        self._slots = asyncio.Semaphore(connections)
        self.connections = connections
        self._rate = RateLimiter(rate_limit) if rate_limit else None
        self._server_size: int | None = None  # the server's SIZE once seen; 0 for none

    # -- presets -----------------------------------------------------------------------------

    @classmethod
    def gmail(
        cls, username: str, *, password: str | None = None, oauth_token: TokenSource | None = None
    ) -> SMTPTransport:
        """Gmail / Google Workspace (smtp.gmail.com:587, STARTTLS; app password or XOAUTH2)."""
        return cls("smtp.gmail.com", 587, username=username, password=password,
                   oauth_token=oauth_token)  # fmt: skip

    @classmethod
    def microsoft365(
        cls, username: str, *, password: str | None = None, oauth_token: TokenSource | None = None
    ) -> SMTPTransport:
        """Microsoft 365 (smtp.office365.com:587, STARTTLS; XOAUTH2 recommended)."""
        return cls("smtp.office365.com", 587, username=username, password=password,
                   oauth_token=oauth_token)  # fmt: skip

    @classmethod
    def outlook_com(
        cls, username: str, *, password: str | None = None, oauth_token: TokenSource | None = None
    ) -> SMTPTransport:
        """Outlook.com (smtp-mail.outlook.com:587, STARTTLS)."""
        return cls("smtp-mail.outlook.com", 587, username=username, password=password,
                   oauth_token=oauth_token)  # fmt: skip

    @classmethod
    def seznam(cls, username: str, *, password: str) -> SMTPTransport:
        """Seznam.cz (smtp.seznam.cz:465, implicit TLS)."""
        return cls("smtp.seznam.cz", 465, security="tls", username=username, password=password)

    # -- connection --------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """``smtp:host:port``, for the send log."""
        return self._name

    @property
    def max_message_size(self) -> int:
        """The configured size limit in bytes (see :meth:`size_limit` for the one in force)."""
        return self._max_size

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = aiosmtplib.SMTP(
            hostname=self._host, port=self._port, timeout=self._timeout,
            use_tls=self._security == "tls", start_tls=self._security == "starttls",
            tls_context=self._tls_context,
        )  # fmt: skip
        try:
            await smtp.connect()
            sock = smtp.transport.get_extra_info("socket") if smtp.transport else None
            if sock is not None:  # no Nagle delay on a reused connection
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._username is not None:
                if self._oauth_token is not None:
                    await smtp.auth_xoauth2(self._username, await self._oauth_token())
                elif self._password is not None:
                    await smtp.login(self._username, self._password)
        except BaseException as exc:
            smtp.close()
            raise self._map(exc) from exc
        return smtp

    def _map(self, exc: BaseException) -> BaseException:
        if isinstance(exc, TransportError):
            return exc
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ssl.SSLError | ssl.CertificateError):
                return TLSFailure(f"TLS failed: {cause}", transport=self._name)
            cause = cause.__cause__ or cause.__context__
        if isinstance(exc, aiosmtplib.SMTPHeloError) and exc.code >= 500:
            return TransportConfigurationError(
                f"the server refused EHLO/HELO: {exc.code} {exc.message}",
                transport=self._name, code=exc.code, reply=exc.message,
            )  # fmt: skip
        if isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in str(exc):
            # Never go on in clear: a server that offers no STARTTLS is a configuration error.
            return TLSFailure(f"the server does not offer STARTTLS: {exc}", transport=self._name)
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return AuthenticationFailed(f"{exc.code} {exc.message}", transport=self._name,
                                        code=exc.code, reply=exc.message)  # fmt: skip
        if isinstance(exc, aiosmtplib.SMTPException) and "AUTH" in str(exc):
            return TransportConfigurationError(
                f"the server does not offer authentication: {exc}", transport=self._name
            )
        if isinstance(exc, aiosmtplib.SMTPNotSupported):
            return TLSFailure(f"the server does not offer what we require: {exc}",
                              transport=self._name)  # fmt: skip
        if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
            return TransportTimeout(f"no answer in time: {exc}", transport=self._name)
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return _error_for(exc.code, exc.message, self._name)
        if isinstance(exc, aiosmtplib.SMTPException | OSError):
            return TransportTemporaryError(f"connection failed: {exc}", transport=self._name)
        return exc

    # -- sending -----------------------------------------------------------------------------

    async def size_limit(self) -> int | None:
        """``max_message_size``, or the server's SIZE when it is smaller (connecting, if no
        connection is open, to learn it)."""
        if self._server_size is None:
            async with self._slots:
                smtp = self._idle.pop() if self._idle else None
                if smtp is None or not smtp.is_connected:
                    if smtp is not None:
                        self._open.discard(smtp)
                    smtp = await self._connect()  # errors come mapped to the error tree
                    self._open.add(smtp)
                self._idle.append(smtp)
                self._learn_size(smtp)
        server = self._server_size or 0
        return min(self._max_size, server) if server else self._max_size

    def _learn_size(self, smtp: aiosmtplib.SMTP) -> None:
        size = smtp.esmtp_extensions.get("size", "")
        self._server_size = int(size) if size.isdigit() else 0

    async def send(self, email: OutgoingEmail, /) -> DeliveryReport:
        """Send one e-mail; returns one outcome per envelope recipient. The message is
        streamed to the server (attachments encoded a chunk at a time)."""
        stream = mime_stream(email)
        size = stream.size
        if size > self._max_size:
            raise TransportPermanentError(
                f"the message is {size:,} bytes, over the limit of {self._max_size:,}",
                transport=self._name,
                code=552,
            )
        recipients = list(email.recipients or email.message.recipients.envelope)
        sender = email.message.sender
        envelope_from = sender.ascii_addr_spec if hasattr(sender, "ascii_addr_spec") else ""
        async with self._slots:
            if self._rate is not None:
                await self._rate.acquire()
            smtp = self._idle.pop() if self._idle else None
            try:
                if smtp is None or not smtp.is_connected:
                    if smtp is not None:
                        self._open.discard(smtp)
                    smtp = await self._connect()
                    self._open.add(smtp)
                self._learn_size(smtp)
                if self._server_size and size > self._server_size:
                    raise TransportPermanentError(
                        f"the message is {size:,} bytes, over the server's SIZE "
                        f"{self._server_size:,}", transport=self._name, code=552,
                    )  # fmt: skip
                refused, reply = await self._transaction(smtp, envelope_from, recipients, stream)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                if smtp is not None:
                    self._idle.append(smtp)
                return DeliveryReport(
                    transport=self._name,
                    recipients=tuple(
                        RecipientOutcome(r.recipient, False, r.code, r.message, 400 <= r.code < 500)
                        for r in exc.recipients
                    ),
                )
            except BaseException as exc:
                if smtp is not None:
                    self._open.discard(smtp)
                    smtp.close()
                raise self._map(exc) from exc
            if smtp is not None:
                self._idle.append(smtp)
        outcomes = []
        for rcpt in recipients:
            refusal = refused.get(rcpt)
            if refusal is None:
                outcomes.append(RecipientOutcome(rcpt, True, 250, reply))
            else:
                outcomes.append(
                    RecipientOutcome(
                        rcpt, False, refusal.code, refusal.message, 400 <= refusal.code < 500
                    )
                )
        return DeliveryReport(transport=self._name, recipients=tuple(outcomes), reply=reply)

    async def _transaction(
        self, smtp: aiosmtplib.SMTP, sender: str, recipients: list[str], stream: MimeStream
    ) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
        """MAIL, RCPT for each recipient, then DATA with the message written chunk by chunk
        under the connection's flow control. Raises ``SMTPRecipientsRefused`` when every
        recipient was refused (after RSET), as ``sendmail`` does."""
        # MAIL and RCPT written here: the addresses are already validated ASCII, and
        # aiosmtplib's re-parsing of each one cost more than the round trip.
        size = b" SIZE=" + str(stream.size).encode("ascii") if self._server_size else b""
        mail = await smtp.execute_command(b"MAIL FROM:<" + sender.encode("ascii") + b">" + size)
        if mail.code != 250:
            raise aiosmtplib.SMTPSenderRefused(mail.code, mail.message, sender)
        refused: dict[str, aiosmtplib.SMTPResponse] = {}
        for recipient in recipients:
            reply = await smtp.execute_command(b"RCPT TO:<" + recipient.encode("ascii") + b">")
            if reply.code not in (250, 251):
                refused[recipient] = reply
        if len(refused) == len(recipients):
            await smtp.rset()
            raise aiosmtplib.SMTPRecipientsRefused(
                [
                    aiosmtplib.SMTPRecipientRefused(r.code, r.message, rcpt)
                    for rcpt, r in refused.items()
                ]
            )
        start = await smtp.execute_command(b"DATA")
        if start.code != 354:
            raise aiosmtplib.SMTPDataError(start.code, start.message)
        protocol = smtp.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("connection lost before DATA")
        # Flow control: wait while the transport's buffer is over its high-water mark, so a
        # slow server never makes the whole message pile up in memory.
        # Small pieces go out together (one TLS record and one send for a usual message).
        drain = getattr(protocol, "_drain_helper", None)
        pending: list[bytes] = []
        held = 0
        for chunk in stream.chunks():
            if held + len(chunk) < _WRITE_BYTES:
                pending.append(chunk)
                held += len(chunk)
                continue
            if pending:
                protocol.write(b"".join(pending))
                pending, held = [], 0
            protocol.write(chunk)  # an attachment's chunk: written as it is, never copied
            if drain is not None:
                await asyncio.wait_for(drain(), self._timeout)
        pending.append(b".\r\n")
        protocol.write(b"".join(pending))
        response = await protocol.read_response(timeout=self._timeout)
        if response.code != 250:
            raise aiosmtplib.SMTPDataError(response.code, response.message)
        return refused, response.message

    async def aclose(self) -> None:
        """Say QUIT and close every connection."""
        connections, self._open, self._idle = self._open, set(), []
        for smtp in connections:
            if smtp.is_connected:
                try:
                    await smtp.quit()
                except (aiosmtplib.SMTPException, OSError):
                    smtp.close()
