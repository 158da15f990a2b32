"""What the parts of :class:`~contos_messaging.AsyncMessenger` share: its core and the check
that it is open."""

from __future__ import annotations

from datetime import timedelta

from contos_messaging.errors import UsageError
from contos_messaging.services.core import Core

__all__ = ["LEASE", "FacadeBase"]

LEASE = timedelta(minutes=5)
"""How long a message claimed for sending stays claimed without a heartbeat (the default)."""


class FacadeBase:
    """The messenger's core (:class:`~contos_messaging.services.core.Core`) and
    :meth:`_open`, which every public method goes through."""

    _core: Core
    _closed: bool

    def _open(self) -> Core:
        if self._closed:
            raise UsageError("this messenger is closed")
        return self._core
