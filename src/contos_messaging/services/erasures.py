"""Following erasures and changes made by other processes: the index of the one that writes it
gets both.

Only one process writes the search index (Tantivy's lock). When another process erases a
client, its messages leave the shared store at once, but their documents stay in the index
files until the process that writes the index drops them. This process therefore looks at the
shared record of erasures (``KeyStore.erased_since``: one indexed query) every
:data:`POLL_SECONDS` in the background, and whenever ``wait_for_compaction`` is called; when
another process erased a client since, the documents the index holds and the store no longer
does are deleted and the index is compacted, as after an erasure made here. The bound: an
erasure anywhere is out of the index files within :data:`POLL_SECONDS` plus the time of a
compaction (docs/performance.md), as long as the process writing the index runs.

Changes (new, edited, sent messages) made by a messenger that cannot write the index are
recorded in the store (``MessageRepository.note_unindexed``); the messenger that writes it
indexes them at the same times, and in ``wait_indexed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from contos_messaging.errors import IndexLocked
from contos_messaging.services.indexing import IndexUpdater
from contos_messaging.services.settings import Ports

__all__ = ["POLL_SECONDS", "ErasureFollower"]

log = logging.getLogger("contos_messaging.search")

#: How often a process looks for erasures and changes made by others (seconds).
POLL_SECONDS = 5.0
#: Changes of other messengers indexed per commit.
FOLLOW_BATCH = 1000


class ErasureFollower:
    """Drops from the index the documents of clients other processes erased, and indexes the
    changes other messengers recorded for it."""

    def __init__(self, ports: Ports, index: IndexUpdater) -> None:
        self._ports = ports
        self._index = index
        self._mark: int | None = None
        self._own: set[str] = set()  # erased here: the erasure itself deletes and compacts
        self._task: asyncio.Task[None] | None = None
        self._checking = asyncio.Lock()

    async def start(self) -> None:
        """Take the erasures so far as seen (the index caught up with them on open) and start
        looking for new ones in the background."""
        if self._ports.search is None:
            return
        self._mark, _scopes = await self._ports.keys.erased_since(0)
        self._task = asyncio.get_running_loop().create_task(self._poll())

    def erasing(self, client_id: str) -> None:
        """This process is erasing ``client_id`` (and cleans its index itself)."""
        self._own.add(client_id)

    async def check(self) -> int:
        """Look now; returns how many documents of clients erased elsewhere were dropped."""
        if self._mark is None:
            return 0
        await self.follow_changes()
        async with self._checking:
            mark, scopes = await self._ports.keys.erased_since(self._mark)
            self._mark = mark
            foreign = scopes - self._own
            self._own -= scopes
            if not foreign:
                return 0
            return await self._drop_missing()

    async def follow_changes(self) -> int:
        """Index the changes other messengers recorded because this one writes the index
        (``MessageRepository.unindexed``); returns how many. A messenger that does not write
        the index leaves them for the one that does."""
        from contos_messaging.services.search import stored_documents  # (search imports core)

        search, repository = self._ports.search, self._ports.repository
        if search is None or not hasattr(repository, "unindexed"):
            return 0  # (a host repository written before 0.5)
        done = 0
        # This messenger's own changes first: a document read from the store below is then at
        # least as new as any of them (one made in the milliseconds between the read and the
        # write below would be overwritten by the older state until the message next changes).
        await self._index.flush()
        while noted := await repository.unindexed(limit=FOLLOW_BATCH):
            ids = list(dict.fromkeys(message_id for _mark, message_id in noted))
            documents = await stored_documents(self._ports, ids)
            present = {doc.message_id for doc in documents}
            try:
                if documents:
                    await search.upsert(documents)
                gone = [message_id for message_id in ids if message_id not in present]
                if gone:
                    await search.delete(gone)
            except IndexLocked:
                return done  # (not this messenger's to write)
            await repository.forget_unindexed(noted[-1][0])
            done += len(ids)
        return done

    async def _drop_missing(self) -> int:
        """Delete what the index holds and the store does not, then compact. Only deletes: a
        document this process is about to add is in the updater's queue, not missing."""
        search = self._ports.search
        assert search is not None
        await self._index.flush()
        indexed = await search.ids()
        after = None
        while page := await self._ports.repository.message_ids(after=after):
            indexed.difference_update(page)
            after = page[-1]
        if indexed:
            await self._index.delete(sorted(indexed))
            self._index.compact_soon()
            log.info("search index: %d document(s) erased by another process dropped", len(indexed))
        return len(indexed)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.check()
            except Exception:  # derived data: logged, tried again at the next poll
                log.exception("following erasures of other processes failed")

    async def stop(self) -> None:
        """Stop looking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
