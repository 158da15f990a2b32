"""Clock port."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["Clock"]


class Clock(Protocol):
    """**Protocol**: the current time.

    .. versionadded:: 0.1
    """

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        ...
