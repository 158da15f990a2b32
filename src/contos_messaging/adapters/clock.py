"""Clock adapters."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from contos_messaging.errors import ConfigurationError

__all__ = ["ManualClock", "SystemClock"]


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time."""
        await asyncio.sleep(max(0.0, seconds))


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ManualClock:
    """A clock that only moves when told to (for tests). :meth:`sleep` returns when
    :meth:`advance` or :meth:`set` moves the clock past the sleeper's deadline, from any
    thread."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ConfigurationError("ManualClock needs an aware datetime")
        self._lock = threading.Lock()
        self._sleepers: list[tuple[datetime, asyncio.AbstractEventLoop, asyncio.Future[None]]]
        self._sleepers = []

    def now(self) -> datetime:
        """Return the clock's time."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been moved ``seconds`` forward."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (self._now + timedelta(seconds=max(0.0, seconds)), loop, future)
        with self._lock:
            self._sleepers.append(entry)
        self._release()
        try:
            await future
        finally:
            with self._lock:
                if entry in self._sleepers:
                    self._sleepers.remove(entry)

    @property
    def sleepers(self) -> int:
        """How many :meth:`sleep` calls are waiting (tests use it to know a task is parked)."""
        with self._lock:
            return len(self._sleepers)

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by ``delta`` (seconds or timedelta) and return the new time."""
        self._now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self._release()
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when``."""
        self._now = when
        self._release()

    def _release(self) -> None:
        with self._lock:
            due = [s for s in self._sleepers if s[0] <= self._now]
            for entry in due:
                self._sleepers.remove(entry)
        for _deadline, loop, future in due:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_wake, future)
