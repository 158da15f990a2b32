"""What a command runs with: the settings, the output, the actor and, opened on first use,
the messenger on the embedded store (with the configured transports when the command
sends)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Channel,
    ConfigurationError,
    MessengerSettings,
    Permission,
)
from contos_messaging.bootstrap import open_embedded
from contos_messaging.cli.exit_codes import CliError, ExitCode
from contos_messaging.cli.output import Output
from contos_messaging.cli.records import load_records
from contos_messaging.cli.settings import LIBRARY_KEY_ENV, Settings
from contos_messaging.cli.transports import (
    HINTS,
    configured_channels,
    sms_transport,
    smtp_transport,
)

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

    def channels(self) -> frozenset[Channel]:
        """The channels whose transport is configured (what ``send`` and ``worker`` open)."""
        return configured_channels(self.settings)

    async def messenger(self, *, send: bool = False) -> AsyncMessenger:
        """The messenger on the store (opened once); ``send``: with the transports that are
        configured (SMTP when an SMTP server is set, SMS when an SMS transport is; at least
        one)."""
        if self._messenger is not None:
            return self._messenger
        store = self.settings.store
        if not (store / STORE_MARKER).is_file():
            raise CliError(
                f"no store at {store} (give --store, or create one with init)", ExitCode.CONFIG
            )
        key = self.master_key()
        sender = self.settings.get("sender") or PLACEHOLDER_SENDER
        options = {"sms_sender": self.settings.get("sms_sender")}
        settings = MessengerSettings(
            company_sender=sender, **{k: v for k, v in options.items() if v}
        )
        parts: dict[str, Any] = {"settings": settings}
        if send:
            parts.update(self._transports())
        records = self.settings.get("records")
        if records is not None:
            parts["address_book"], parts["context"] = load_records(Path(records))
        keys_db = self.settings.get("keys_db")
        if keys_db is not None and not Path(keys_db).is_file():
            raise CliError(f"no key database at {keys_db} (the keys_db setting)", ExitCode.CONFIG)
        try:
            self._messenger = await open_embedded(store, master_key=key, keys_path=keys_db, **parts)
        except BaseException as exc:
            for name in ("email_transport", "sms_transport"):  # (their own, not opened yet)
                if name in parts:
                    await parts[name].aclose()
            if isinstance(exc, ConfigurationError):
                raise CliError(
                    f"cannot open the store {store} with {self.key_source()}: {exc}",
                    ExitCode.ACCESS,
                ) from exc
            raise
        return self._messenger

    def _transports(self) -> dict[str, Any]:
        channels = self.channels()
        if not channels:
            raise CliError(
                f"no SMTP server and no SMS transport configured: {HINTS[Channel.EMAIL]}; for"
                f" SMS, {HINTS[Channel.SMS]}",
                ExitCode.CONFIG,
            )
        parts: dict[str, Any] = {}
        if Channel.EMAIL in channels:
            parts["email_transport"] = smtp_transport(self.settings)
        if Channel.SMS in channels:
            parts["sms_transport"] = sms_transport(self.settings)
        return parts

    async def aclose(self) -> None:
        """Close the messenger if one was opened."""
        if self._messenger is not None:
            messenger, self._messenger = self._messenger, None
            await messenger.aclose()
