"""The SMTP rate limiter, on a fake clock (no timing in tests)."""

from __future__ import annotations

import pytest

from contos_messaging.adapters.smtp.ratelimit import RateLimiter


async def test_slots_are_evenly_spaced_and_waits_add_up():
    now = [100.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))

    limiter = RateLimiter(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        await limiter.acquire()
    assert waits == [0.25, 0.5, 0.75]  # the first goes at once, the rest wait their slot
    now[0] += 10  # a quiet period: no debt carried over
    await limiter.acquire()
    assert waits == [0.25, 0.5, 0.75]


def test_the_rate_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
