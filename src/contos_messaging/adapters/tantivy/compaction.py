"""Compaction: rewriting the index after an erasure until no file holds an erased document.

Deleting a document only marks it deleted: its tokens stay in its segment's files until the
segment is merged away, which may never happen. Every document therefore carries the
*generation* it was written in, and every deletion raises the generation (recorded in the
index's layout file before the deletion commits, with the generation compacted last, so that a
compaction cut short resumes after the next open). A compaction then, chunk by chunk, in the
background, re-indexes every live document of an older generation from the store. A segment
whose documents are all rewritten holds only deleted ones, and Tantivy drops it at the next
commit; when no live document of an older generation is left, no segment written before the
erasure remains. Then the merges under way are waited for, files no longer used are removed and
the vocabulary is rewritten without the words no document holds any more.

Each chunk is one commit under the index's write lock, so writes of storing and sending wait
for at most one chunk; searches never wait for a lock (they read the segments of the last
commit), but share the CPU: the documents of a chunk are read and built 100 at a time so that
the event loop is never held long, and the rest competes with searches for the GIL (searches
during a compaction are a few times slower, docs/performance.md). The cost is that of
re-indexing every message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from contos_messaging.errors import StorageError
from contos_messaging.ports.search import CompactionReport

__all__ = ["CHUNK", "Compactor"]

log = logging.getLogger("contos_messaging.search")

# Documents re-indexed per commit.
CHUNK = 2_000


class Compactor:
    """Runs compactions one at a time, in the background.

    ``rewrite(generation)`` re-indexes up to :data:`CHUNK` live documents of a generation older
    than ``generation`` in one commit and returns how many it found (0: none left);
    ``finish()`` removes unused files and unused words and returns the number of words
    dropped; ``save(generation, compacted)`` records both durably."""

    def __init__(
        self,
        *,
        rewrite: Callable[[int], Awaitable[int]],
        finish: Callable[[], Awaitable[int]],
        save: Callable[[int, int], None],
    ) -> None:
        self.generation = 0  # of documents written now
        self.compacted = 0  # no document of an older generation is left in any file
        self._rewrite = rewrite
        self._finish = finish
        self._save = save
        self._task: asyncio.Task[CompactionReport] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        """Whether a compaction is under way."""
        return self._task is not None and not self._task.done()

    @property
    def pending(self) -> bool:
        """Whether documents were deleted since the last compaction finished."""
        return self.compacted < self.generation

    def deleting(self) -> None:
        """Before documents are deleted: documents written from now on are of a new generation,
        and the older ones are to be compacted."""
        self.generation += 1
        self._save(self.generation, self.compacted)

    async def compact(self) -> CompactionReport:
        """Compact until no document deleted so far is left in any file (joining a compaction
        under way) and return the report; at once when nothing was deleted since the last."""
        if not self.pending and not self.running:
            return CompactionReport(documents_rewritten=0, words_dropped=0, seconds=0.0)
        if self._stopping:
            raise StorageError("the search index is closing; the compaction resumes on open")
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return await asyncio.shield(self._task)

    async def _run(self) -> CompactionReport:
        started = time.monotonic()
        rewritten = dropped = 0
        while True:
            if self._stopping:
                raise StorageError(
                    "the search index closed before its compaction finished; it resumes on the"
                    " next open"
                )
            target = self.generation
            found = await self._rewrite(target)
            rewritten += found
            if found:
                await asyncio.sleep(0)  # writers waiting for the lock go first
                continue
            dropped += await self._finish()
            self.compacted = target
            self._save(self.generation, self.compacted)
            if target == self.generation:  # nothing deleted meanwhile
                break
        seconds = time.monotonic() - started
        log.info(
            "search index compacted: %d document(s) rewritten, %d word(s) dropped in %.1f s",
            rewritten,
            dropped,
            seconds,
        )
        return CompactionReport(
            documents_rewritten=rewritten, words_dropped=dropped, seconds=seconds
        )

    async def stop(self) -> None:
        """Let the chunk under way finish and start no other (the rest resumes on open)."""
        self._stopping = True
        task = self._task
        if task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
