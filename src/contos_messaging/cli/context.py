"""What a command runs with: the settings, the output, the actor and, opened on first use,
the messenger on the embedded store (with the SMTP transport when the command sends)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from contos_messaging import (
    Actor,
    AsyncMessenger,
    ConfigurationError,
    MessengerSettings,
    Permission,
)
from contos_messaging.adapters.smtp import Security, SMTPTransport
from contos_messaging.bootstrap import open_embedded
from contos_messaging.cli.exit_codes import CliError, ExitCode
from contos_messaging.cli.output import Output
from contos_messaging.cli.records import load_records
from contos_messaging.cli.settings import LIBRARY_KEY_ENV, Settings

__all__ = ["PLACEHOLDER_SENDER", "Context", "read_master_key"]

PLACEHOLDER_SENDER = "contos-messaging <noreply@example.com>"
"""The company sender a messenger is opened with when no ``sender`` is set: commands that
store a message (``compose``) refuse to run without a real one."""

STORE_MARKER = "messages.sqlite"


def read_master_key(path: Path) -> bytes | str:
    """The master key in ``path`` (base64 text, or 32 raw bytes)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CliError(
            f"no master key file at {path} (give --key-file, or create a store with init)",
            ExitCode.ACCESS,
        ) from None
    except OSError as exc:
        raise CliError(
            f"cannot read the master key file {path}: {exc.strerror}", ExitCode.ACCESS
        ) from None
    if len(data) == 32:
        return data
    try:
        return data.strip().decode("ascii")
    except UnicodeDecodeError:
        raise CliError(
            f"the master key file {path} holds neither base64 text nor 32 bytes", ExitCode.ACCESS
        ) from None


class Context:
    """The settings, output and actor of one command run, and its messenger."""

    def __init__(self, settings: Settings, output: Output, args: argparse.Namespace) -> None:
        self.settings = settings
        self.out = output
        self.args = args
        self._messenger: AsyncMessenger | None = None

    @property
    def actor(self) -> Actor:
        """The operator: ``--actor`` / ``CONTOS_ACTOR`` (default: the OS user) with every
        permission, or those of the ``permissions`` setting."""
        chosen = self.settings.get("permissions")
        if chosen is None:
            return Actor(self.settings.actor_id, permissions=frozenset(Permission))
        return Actor(self.settings.actor_id, permissions=frozenset(Permission(p) for p in chosen))

    def master_key(self) -> bytes | str | None:
        """The master key from the key file; None to let the library read
        ``CONTOS_MESSAGING_MASTER_KEY``."""
        path = self.settings.key_file
        return None if path is None else read_master_key(path)

    def key_source(self) -> str:
        """Where the master key comes from, for messages."""
        path = self.settings.key_file
        return f"the key file {path}" if path is not None else LIBRARY_KEY_ENV

    def sender(self) -> str:
        """The company sender (``--sender``); a :class:`CliError` when none is set."""
        sender = self.settings.get("sender")
        if not sender:
            raise CliError(
                "no sender: give --sender 'Firma <info@firma.cz>' (or CONTOS_SENDER, or sender ="
                " in the config file)",
                ExitCode.CONFIG,
            )
        return str(sender)

    def transport(self) -> SMTPTransport:
        """The SMTP transport of the ``smtp_*`` settings."""
        get = self.settings.get
        host = get("smtp_host")
        if not host:
            raise CliError(
                "no SMTP server: give --smtp-host (or CONTOS_SMTP_HOST, or [smtp] host = in the"
                " config file)",
                ExitCode.CONFIG,
            )
        security: Security = get("smtp_security") or "starttls"
        if security not in ("starttls", "tls", "plain"):
            raise CliError(
                f"smtp security must be starttls, tls or plain, got {security!r}", ExitCode.CONFIG
            )
        ca_file = get("smtp_ca_file")
        options: dict[str, Any] = {}
        if get("smtp_timeout") is not None:
            options["timeout"] = float(get("smtp_timeout"))
        return SMTPTransport(
            str(host),
            get("smtp_port"),
            security=security,
            username=get("smtp_user"),
            password=self.settings.smtp_password(),
            ca_file=None if ca_file is None else str(ca_file),
            allow_plaintext=security == "plain",
            **options,
        )

    async def messenger(self, *, smtp: bool = False) -> AsyncMessenger:
        """The messenger on the store (opened once); ``smtp``: with the SMTP transport."""
        if self._messenger is not None:
            return self._messenger
        store = self.settings.store
        if not (store / STORE_MARKER).is_file():
            raise CliError(
                f"no store at {store} (give --store, or create one with init)", ExitCode.CONFIG
            )
        key = self.master_key()
        sender = self.settings.get("sender") or PLACEHOLDER_SENDER
        settings = MessengerSettings(company_sender=sender)
        parts: dict[str, Any] = {"settings": settings}
        if smtp:
            parts["email_transport"] = self.transport()
        records = self.settings.get("records")
        if records is not None:
            parts["address_book"], parts["context"] = load_records(Path(records))
        keys_db = self.settings.get("keys_db")
        if keys_db is not None and not Path(keys_db).is_file():
            raise CliError(f"no key database at {keys_db} (the keys_db setting)", ExitCode.CONFIG)
        try:
            self._messenger = await open_embedded(store, master_key=key, keys_path=keys_db, **parts)
        except ConfigurationError as exc:
            raise CliError(
                f"cannot open the store {store} with {self.key_source()}: {exc}", ExitCode.ACCESS
            ) from exc
        return self._messenger

    async def aclose(self) -> None:
        """Close the messenger if one was opened."""
        if self._messenger is not None:
            messenger, self._messenger = self._messenger, None
            await messenger.aclose()
