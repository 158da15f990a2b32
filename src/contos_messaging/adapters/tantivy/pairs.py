"""Word pairs: a two-word phrase as one indexed term.

A quoted phrase is normally matched by checking word positions in every message holding all of
its words; when the words are common (``"komisní smlouvě"`` in a quarter of 100,000 messages)
that costs milliseconds. The index therefore also holds every pair of neighbouring words as one
term (the two words' keyed tokens side by side: see ``vocabulary.py``), so a two-word phrase is a
single term lookup. Longer phrases still check positions.

Pairs cost about as much to index as the text itself. Large batches of a bulk stream (handed
over with ``bulk=True``: a bulk run) are therefore indexed without them first, marked as
waiting, and given their pairs in the background when the index has been idle for a moment
(see :class:`PairBackfill`); until then a phrase finds them by positions, so results never
depend on it. Marked documents left when the store closed are found and completed after the
next open. A rebuild and single messages get their pairs at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from contos_messaging.ports.search import SearchDocument

__all__ = [
    "DEFER_ABOVE",
    "LONG_WORD",
    "WAITING_FIELD",
    "WAITING_VALUE",
    "DocumentSource",
    "PairBackfill",
]

log = logging.getLogger("contos_messaging.search")

# Field and value marking a document indexed without its pairs.
WAITING_FIELD = "waiting"
WAITING_VALUE = "pairs"
# Bulk batches larger than this are indexed without pairs first (when documents can be fetched
# again); smaller ones (composing, editing, sending one by one) get them at once.
DEFER_ABOVE = 100
# The index must have had no other write for this long before pairs are added in the background,
# this many documents per commit (each commit makes a segment: too small ones slow queries down
# until merged); when completing on request, larger commits. After a write of documents waiting
# for their pairs (a bulk stream, whose next batch is usually being gathered or committed
# already: a commit of 2,000 documents takes most of a second) the index must have been idle for
# STREAM_IDLE times as long, so that the background work does not cut into the stream.
IDLE_SECONDS = 0.5
STREAM_IDLE = 4
CHUNK = 1_000
FINISH_CHUNK = 5_000

DocumentSource = Callable[[Sequence[str]], Awaitable[Sequence[SearchDocument]]]
"""Gives the current search documents of stored messages by id (skipping ids the store no
longer has): how pairs are added later without the index keeping any text."""


# Words this long are not indexed (a token per word of any length would let one pasted blob
# fill the vocabulary); no pair holds them either.
LONG_WORD = 64


class PairBackfill:
    """Ids of documents indexed without their pairs, and the background task completing them.

    ``complete(ids)`` is called (by the index) with a chunk of ids and must re-index those
    documents with pairs, in the order of the index's other writes; it runs only after the
    index has been idle for :data:`IDLE_SECONDS`."""

    def __init__(self, complete: Callable[[list[str]], Awaitable[None]]) -> None:
        self._complete = complete
        self._waiting: dict[str, None] = {}  # ordered: oldest first
        self._task: asyncio.Task[None] | None = None
        self._last_write = 0.0
        self._streaming = False  # the last write was of documents waiting for their pairs
        self._stopping = False
        self._busy = False  # a chunk is being completed

    def __len__(self) -> int:
        return len(self._waiting)

    def wrote(self, waiting: Sequence[str] = (), done: Sequence[str] = ()) -> None:
        """Record an index write: documents now ``waiting`` for their pairs, documents ``done``
        (given pairs, replaced with them, or deleted)."""
        for message_id in done:
            self._waiting.pop(message_id, None)
        self._waiting.update(dict.fromkeys(waiting))
        self._last_write = asyncio.get_running_loop().time()
        self._streaming = bool(waiting)
        self._start()

    def forget(self) -> None:
        """Drop every waiting id (the index was emptied, or another process writes it)."""
        self._waiting.clear()

    def take(self, count: int) -> list[str]:
        """Up to ``count`` ids, oldest first, no longer waiting (the caller completes them)."""
        chunk = []
        for message_id in self._waiting:
            chunk.append(message_id)
            if len(chunk) == count:
                break
        for message_id in chunk:
            del self._waiting[message_id]
        return chunk

    def _start(self) -> None:
        if self._waiting and not self._stopping and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting and not self._stopping:
            idle = loop.time() - self._last_write
            wanted = IDLE_SECONDS * STREAM_IDLE if self._streaming else IDLE_SECONDS
            if idle < wanted:
                await asyncio.sleep(wanted - idle)
                continue
            self._busy = True
            try:
                await self._complete(self.take(CHUNK))
            except Exception:  # derived data: left marked, completed after the next open
                log.exception("adding word pairs to the search index failed")
            finally:
                self._busy = False

    async def finish(self) -> None:
        """Complete every waiting document now (for benchmarks and tests)."""
        while self._waiting:
            await self._complete(self.take(FINISH_CHUNK))

    async def stop(self) -> None:
        """Let a chunk being completed finish, start no other (what is left stays marked in the
        index and is completed after the next open)."""
        self._stopping = True
        task = self._task
        if task is None:
            return
        if not self._busy:  # waiting for the index to be idle: nothing to finish
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
