"""Word pairs are added in the background only once the index is idle: after a batch of a bulk
stream (documents waiting for their pairs) it must be idle for longer, as the stream's next
batch is usually on its way; after any other write, for IDLE_SECONDS."""

from __future__ import annotations

import asyncio

import pytest

from contos_messaging.adapters.tantivy import pairs
from contos_messaging.adapters.tantivy.pairs import IDLE_SECONDS, STREAM_IDLE, PairBackfill


class _RecordedIdleness:
    """``asyncio`` as ``pairs.py`` sees it, except that a wait for idleness is recorded and
    lasts until the test lets it end."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.waited = asyncio.Event()
        self.go_on = asyncio.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(asyncio, name)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.waited.set()
        await self.go_on.wait()
        self.go_on.clear()


async def test_after_a_bulk_batch_pairs_wait_longer_than_after_other_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = _RecordedIdleness()
    monkeypatch.setattr(pairs, "asyncio", gate)
    completed: list[list[str]] = []

    async def complete(ids: list[str]) -> None:
        completed.append(ids)

    backfill = PairBackfill(complete)
    backfill.wrote(waiting=["m-1", "m-2"])  # a batch of a bulk stream
    await gate.waited.wait()
    assert gate.waits[0] > IDLE_SECONDS * (STREAM_IDLE - 1)
    assert completed == []

    gate.waited.clear()
    backfill.wrote(done=["m-3"])  # then an ordinary write: an edit, a message sent
    gate.go_on.set()
    await gate.waited.wait()
    assert IDLE_SECONDS / 2 < gate.waits[1] <= IDLE_SECONDS
    assert completed == []
    assert len(backfill) == 2

    monkeypatch.setattr(pairs, "IDLE_SECONDS", 0.0)  # the index is idle now
    gate.go_on.set()
    await asyncio.wait_for(_until(completed), 30)  # 30 s: only a guard against a hang
    assert completed == [["m-1", "m-2"]]
    assert len(backfill) == 0


async def _until(completed: list[list[str]]) -> None:
    while not completed:
        await asyncio.sleep(0)
