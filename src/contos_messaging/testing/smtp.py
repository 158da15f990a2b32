"""A real SMTP server on loopback for examples and tests: aiosmtpd over STARTTLS with AUTH,
a certificate of its own, every accepted message kept, and replies that can be forced.

Needs the ``testing`` extra (``pip install 'contos_messaging[testing]'``)::

    from contos_messaging.testing.smtp import LocalSMTPServer

    with LocalSMTPServer() as server:
        transport = server.transport()          # an SMTPTransport that trusts the server's CA
        ...
        server.messages                          # what the server accepted
        server.refuse["bad@example.com"] = "550 5.1.1 no such user"
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email
import email.policy
import ipaddress
import logging
import socket
import ssl
import tempfile
import threading
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from contos_messaging.adapters.smtp import Security, SMTPTransport

__all__ = ["LocalSMTPServer", "ReceivedMessage"]


class _QuietLoginData(logging.Filter):
    """aiosmtpd logs a deprecation warning on every successful AUTH; not ours to fix."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


class ReceivedMessage:
    """One message the server accepted: envelope and parsed content."""

    def __init__(self, sender: str, recipients: list[str], data: bytes) -> None:
        self.sender = sender
        self.recipients = recipients
        self.data = data
        self.message: EmailMessage = email.message_from_bytes(data, policy=email.policy.default)


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "contos-messaging test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler:
    def __init__(self, server: LocalSMTPServer) -> None:
        self._server = server

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self, smtp: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        reply = self._server.replies.get("EHLO")
        if reply:
            return [reply]
        session.host_name = hostname
        return responses

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, smtp: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        reply = self._server.replies.get("MAIL")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, smtp: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self._server.refuse.get(address) or self._server.replies.get("RCPT")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def auth_XOAUTH2(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, args: list[str]
    ) -> AuthResult:
        """XOAUTH2 with ``LocalSMTPServer.OAUTH_TOKEN`` as the only valid token."""
        try:
            fields = base64.b64decode(args[1]).decode().split("\x01")
        except (IndexError, ValueError):
            return AuthResult(success=False, handled=False)
        values = dict(f.split("=", 1) for f in fields if "=" in f)
        ok = (
            values.get("user") == LocalSMTPServer.USERNAME
            and values.get("auth") == f"Bearer {LocalSMTPServer.OAUTH_TOKEN}"
        )
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, smtp: Any, session: Any, envelope: Any
    ) -> str:
        if self._server.next_data_replies:
            return self._server.next_data_replies.pop(0)
        if self._server.data_reply:
            return self._server.data_reply
        if self._server.data_delay:
            await asyncio.sleep(self._server.data_delay)
        gate = self._server.data_gate
        if gate is not None:  # hold the answer until the test opens the gate
            self._server.data_waiting.set()
            await asyncio.get_running_loop().run_in_executor(None, gate.wait)
        with self._server.lock:
            self._server.messages.append(
                ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
            )
        if self._server.drop_after_data:
            self._server.drop_after_data = False
            smtp.transport.close()  # accepted, but the client never hears so
        return "250 2.0.0 queued"


class LocalSMTPServer:
    """aiosmtpd on 127.0.0.1 with its own CA: ``security="starttls"`` (default, AUTH required
    after STARTTLS) or ``"tls"`` (implicit TLS); ``offer_starttls=False`` makes a server that
    offers no TLS at all (to show a client never downgrades). User ``contos`` / password
    ``secret``. ``refuse``, ``replies``, ``data_reply``, ``next_data_replies``, ``data_gate`` and
    ``drop_after_data`` force the server's answers.

    Nothing happens at import or in the constructor beyond making the certificate; while the
    server runs (from :meth:`start` to :meth:`stop`) a filter on aiosmtpd's ``mail.log``
    logger hides the deprecation warning it logs on every successful AUTH."""

    USERNAME = "contos"
    PASSWORD = "secret"
    OAUTH_TOKEN = "ya29.test-token"

    def __init__(
        self,
        *,
        security: Security = "starttls",
        size_limit: int = 33_554_432,
        offer_starttls: bool = True,
    ) -> None:
        self.security = security
        self.messages: list[ReceivedMessage] = []
        self.refuse: dict[str, str] = {}
        self.replies: dict[str, str] = {}
        """Forced replies by command: ``"EHLO"``, ``"MAIL"``, ``"RCPT"`` (every recipient)."""
        self.data_reply: str | None = None
        """When set, the answer to every DATA."""
        self.next_data_replies: list[str] = []
        """Answers to the next DATA commands, one each, before ``data_reply``."""
        self.data_delay = 0.0
        self.data_gate: threading.Event | None = None
        """When set, every DATA waits (after ``data_waiting`` is set) until the event is set."""
        self.data_waiting = threading.Event()
        self.drop_after_data = False
        self.lock = threading.Lock()
        self._quiet = _QuietLoginData()
        self._dir = tempfile.TemporaryDirectory(prefix="contos-smtp-")
        self.ca_file, key_file = _certificate(Path(self._dir.name))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_file, key_file)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        options: dict[str, Any] = {
            "authenticator": self._authenticate,
            "auth_require_tls": True,
            "data_size_limit": size_limit,
        }
        if security == "tls":  # the whole connection is TLS: AUTH needs no STARTTLS first
            options.update(ssl_context=context, auth_require_tls=False)
        elif offer_starttls:
            options.update(tls_context=context, require_starttls=True)
        else:  # a server that offers no STARTTLS (a client must refuse to go on in clear)
            options.update(auth_require_tls=False)
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            **options,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == self.USERNAME.encode()
            and data.password == self.PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)

    def transport(self, *, password: str | None = None, **options: Any) -> SMTPTransport:
        """An :class:`SMTPTransport` for this server, trusting its certificate."""
        return SMTPTransport(
            "127.0.0.1",
            self.port,
            security=self.security,
            username=self.USERNAME,
            password=self.PASSWORD if password is None else password,
            ca_file=str(self.ca_file),
            **options,
        )

    def start(self) -> Self:
        """Start serving (in a thread of its own)."""
        logging.getLogger("mail.log").addFilter(self._quiet)
        try:
            self._controller.start()
        except BaseException:
            logging.getLogger("mail.log").removeFilter(self._quiet)
            raise
        return self

    def stop(self) -> None:
        """Stop serving, take the logging filter off and remove the certificate files."""
        try:
            self._controller.stop()
        finally:
            logging.getLogger("mail.log").removeFilter(self._quiet)
            self._dir.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
