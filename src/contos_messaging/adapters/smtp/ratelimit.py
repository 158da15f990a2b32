"""A rate limit shared by the connections of one transport."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from contos_messaging.errors import ConfigurationError

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``per_second`` acquisitions per second, evenly spaced; callers wait their turn."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_second <= 0:
            raise ConfigurationError(f"the rate limit must be positive, got {per_second!r}")
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until the next slot is free and take it."""
        async with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)
