"""Clock port."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["Clock"]


class Clock(Protocol):
    """**Protocol**: the current time, and waiting for it to pass.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 :meth:`sleep` (lease heartbeats wait on the clock, so a manual
       clock drives them in tests).
    """

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...
