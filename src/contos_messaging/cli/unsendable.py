"""Messages whose channel has no transport in this run (an SMS for a worker without an SMS
transport, an e-mail without SMTP): found before ``send`` hands them over, sorted out of a
worker's batch, and named with the setting that would send them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime

from contos_messaging import (
    AsyncMessenger,
    Channel,
    KeyUnavailable,
    Message,
    MessageStatus,
    NotFound,
    NoTransport,
    SendReport,
    SkipReason,
    TransportConfigurationError,
)
from contos_messaging.cli.transports import HINTS

__all__ = ["Unsendable", "no_transport", "quiet_missing", "without_transport"]

_LABEL = {Channel.EMAIL: "e-mail (SMTP)", Channel.SMS: "SMS"}
_WAITING = (MessageStatus.QUEUED, MessageStatus.DEFERRED)
_PAGE = 200


async def without_transport(
    messenger: AsyncMessenger, channels: frozenset[Channel], chosen: Mapping[str, Message | None]
) -> dict[str, Message]:
    """The chosen messages whose channel has no transport in this run (read when the
    selection did not; one that cannot be read is left to ``send`` to report)."""
    if len(channels) == len(Channel):
        return {}
    missing: dict[str, Message] = {}
    for message_id, message in chosen.items():
        if message is None:
            try:
                message = await messenger.get(message_id)
            except (NotFound, KeyUnavailable):
                continue
        if message.channel not in channels:
            missing[message_id] = message
    return missing


class _QuietMissing(logging.Filter):
    """Drops the library's "transport stopped" record for a channel that has no transport in
    this run (the command says so itself, per message, naming the setting)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for that record."""
        args = record.args if isinstance(record.args, tuple) else ()
        return not (
            record.msg == "transport stopped: %s"
            and len(args) == 1
            and isinstance(args[0], NoTransport)
        )


@contextlib.contextmanager
def quiet_missing() -> Iterator[None]:
    """While the block runs, the library does not log a missing transport as stopped."""
    logger, quiet = logging.getLogger("contos_messaging.send"), _QuietMissing()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def no_transport(channel: Channel) -> str:
    """What to say of a message of ``channel``: no transport, and the setting to give."""
    return f"no {_LABEL[channel]} transport configured: {HINTS[channel]}"


class Unsendable:
    """The messages a worker run met that no transport of its can send (``missing``, by id),
    sorted out of each batch's report (:meth:`sort`)."""

    def __init__(self) -> None:
        self.missing: dict[str, Message] = {}

    async def sort(
        self, messenger: AsyncMessenger, channels: frozenset[Channel], report: SendReport
    ) -> tuple[SendReport, list[str]]:
        """``report`` without the outcomes of messages no transport here can send (its error
        only that of a transport that stopped), and the ids of those seen for the first
        time."""
        stopped = {o.message_id: None for o in report if o.skipped is SkipReason.TRANSPORT_STOPPED}
        missing = await without_transport(messenger, channels, stopped) if stopped else {}
        new = [i for i in missing if i not in self.missing]
        self.missing.update(missing)
        kept = tuple(o for o in report if o.message_id not in missing)
        errors = [o.detail for o in kept if o.skipped is SkipReason.TRANSPORT_STOPPED]
        error = report.error if errors else None
        if error is not None and str(error) != errors[0]:  # (the missing channel's came first)
            error = TransportConfigurationError(errors[0])
        return SendReport(kept, error), new

    async def waiting(
        self, messenger: AsyncMessenger, channels: frozenset[Channel], now: datetime
    ) -> list[str]:
        """The ids, seen for the first time, of due messages of the channels no transport
        here sends (the outbox leaves them queued for a worker that has one): at most a page
        of each channel."""
        new: list[str] = []
        for channel in (c for c in Channel if c not in channels):
            page = await messenger.messages(channel=channel, status=_WAITING, limit=_PAGE)
            for message in page:
                due = message.next_attempt_at or message.scheduled_at
                if (due is None or due <= now) and message.id not in self.missing:
                    self.missing[message.id] = message
                    new.append(message.id)
        return new
