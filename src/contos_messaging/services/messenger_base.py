"""What the parts of :class:`~contos_messaging.AsyncMessenger` share: its ports, settings and
services, and the check that it is still open."""

from __future__ import annotations

from contos_messaging.errors import UsageError
from contos_messaging.services.indexing import IndexUpdater
from contos_messaging.services.outbox import Outbox
from contos_messaging.services.sending import Sender
from contos_messaging.services.settings import MessengerSettings, Ports
from contos_messaging.services.templating import AsyncTemplates

__all__ = ["MessengerBase"]


class MessengerBase:
    """State of a messenger (set by :class:`~contos_messaging.AsyncMessenger`)."""

    _ports: Ports
    _settings: MessengerSettings
    _index: IndexUpdater
    _sender: Sender
    _templates: AsyncTemplates
    _outbox: Outbox
    _closed: bool

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError("this messenger is closed")
