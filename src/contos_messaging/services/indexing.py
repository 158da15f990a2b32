"""Building search documents and keeping the index in step (never blocking on it)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Literal

from contos_messaging.domain.addresses import EmailRecipients
from contos_messaging.domain.message import Message
from contos_messaging.domain.text import plain_text_quick
from contos_messaging.errors import IndexLocked, StorageError
from contos_messaging.ports import CompactionReport, SearchDocument, SearchIndex

__all__ = ["IndexUpdater", "search_document"]

log = logging.getLogger("contos_messaging.search")


def search_document(message: Message) -> SearchDocument:
    """The searchable view of a message: subject, body text, recipients, file names."""
    if isinstance(message.recipients, EmailRecipients):
        recipients = " ".join(
            f"{a.display_name} {a.addr_spec}".strip() for a in message.recipients.all
        )
    else:
        recipients = " ".join(message.recipients.envelope)
    if message.text is not None:
        body = message.text
    else:
        body = plain_text_quick(message.html) if message.html else ""
    return SearchDocument(
        message_id=message.id,
        channel=message.channel,
        status=message.status,
        created_at=message.created_at,
        created_by=message.created_by,
        links=message.links,
        subject=message.subject,
        body=body,
        recipients=recipients,
        attachment_names=" ".join(a.filename for a in message.attachments),
        template_name=message.template.name if message.template else "",
    )


# Documents waiting to be indexed beyond which writers wait for the index to catch up.
MAX_PENDING = 5_000
# While documents keep coming (a bulk run) and nobody waits for them, a commit gathers up to
# this many, waiting at most GATHER_SECONDS for more: Tantivy spends a third less per document
# in commits of 2,000 than in commits of 500 (fewer segments to write and merge).
GATHER_DOCUMENTS = 2_000
GATHER_SECONDS = 0.25

_Operation = Literal["add", "upsert", "delete"]
_NOTHING = CompactionReport(documents_rewritten=0, words_dropped=0, seconds=0.0)


class IndexUpdater:
    """Pushes changes to the search index in the background, in order, in as few commits as
    the index's pace allows: storing and sending never wait for an index commit. A failure is
    logged and counted, never raised: the index is derived data, caught up on the next open and
    rebuilt by ``reindex``. :meth:`flush` waits until everything handed over is indexed (a
    search does, so it sees what was just stored)."""

    def __init__(
        self,
        index: SearchIndex | None,
        on_locked: Callable[[list[str]], Awaitable[None]] | None = None,
    ) -> None:
        self._index = index
        # Where changes go that another messenger must index (it writes the index).
        self._on_locked = on_locked
        self.failures = 0
        self._queue: collections.deque[tuple[_Operation, list[Any]]] = collections.deque()
        self._pending = 0  # documents (or ids) waiting
        self._submitted = 0  # operations handed over so far
        self._completed = 0  # operations applied (or failed) so far
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._running = asyncio.Event()  # cleared while the index is being rebuilt
        self._running.set()
        self._arrived = asyncio.Event()  # set when a change or a flush comes in
        self._compaction: asyncio.Task[CompactionReport | None] | None = None
        self._compacted: CompactionReport | None = None  # the last that did anything
        self._told_locked = False  # (the warning that another messenger writes the index)

    async def add(self, messages: Sequence[Message]) -> None:
        """Index new messages."""
        if messages and self._index is not None:
            # During a rebuild the rebuild may index them too: replace, never add twice.
            operation: _Operation = "add" if self._running.is_set() else "upsert"
            await self._submit(operation, [search_document(m) for m in messages])

    async def upsert(self, messages: Sequence[Message]) -> None:
        """Re-index changed messages. Never raises: what was sent or changed is recorded
        already, and the index is derived data (a failure is logged and counted)."""
        if messages and self._index is not None:
            try:
                documents = [search_document(m) for m in messages]
            except Exception:
                self.failures += 1
                log.exception("indexing %d changed messages failed; reindex() repairs it",
                              len(messages))  # fmt: skip
                return
            await self._submit("upsert", documents)

    async def delete(self, message_ids: Sequence[str]) -> None:
        """Remove messages from the index, and wait until they are gone."""
        if message_ids and self._index is not None:
            await self._submit("delete", list(message_ids))
            await self.flush()

    async def _note(self, operation: _Operation, items: list[Any]) -> bool:
        """Record the messages of a change this messenger could not index, for the one that
        writes the index; whether it was recorded."""
        if self._on_locked is None:
            self.failures += 1
            return False
        ids = items if operation == "delete" else [doc.message_id for doc in items]
        try:
            await self._on_locked(list(ids))
        except Exception:  # (the next open of the index's writer catches up anyway)
            self.failures += 1
            log.warning("recording %d change(s) for the index failed", len(ids), exc_info=True)
            return False
        return True

    def compact_soon(self) -> None:
        """Start compacting the index in the background (after documents of an erased client
        were deleted): :meth:`compacted` waits for it."""
        if self._index is not None:
            self._compaction = asyncio.get_running_loop().create_task(self._compact(self._index))

    async def _compact(self, index: SearchIndex) -> CompactionReport | None:
        try:
            report = await index.compact()
            if report != _NOTHING:
                self._compacted = report
            return report
        except StorageError as exc:  # closing: resumed on the next open
            log.warning("search index compaction: %s", exc)
        except Exception:
            self.failures += 1
            log.exception("search index compaction failed; reindex() rewrites the index")
        return None

    async def compacted(self) -> CompactionReport | None:
        """Wait until the index holds nothing deleted so far (joining a compaction under way,
        started here or resumed by the index on open); None when it failed (logged)."""
        task = self._compaction
        if task is not None and not task.done():
            await asyncio.shield(task)
        if self._index is None:
            return None
        report = await self._compact(self._index)
        if report == _NOTHING and self._compacted is not None:
            return self._compacted  # (the compaction that did the work, finished already)
        return report

    @property
    def is_rebuilding(self) -> bool:
        """Whether the index is being rebuilt (changes are held back until it ends)."""
        return not self._running.is_set()

    @contextlib.asynccontextmanager
    async def rebuilding(self) -> AsyncIterator[None]:
        """Hold changes back while the index is rebuilt from the store; they are applied (as
        replacements) when the rebuild ends."""
        await self.flush()
        self._running.clear()
        try:
            yield
        finally:
            self._running.set()

    async def flush(self) -> None:
        """Wait until every change handed over so far has reached the index (or failed); changes
        handed over meanwhile (a bulk run going on) are not waited for."""
        target = self._submitted
        if self._completed >= target:
            return
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():  # stopped (cancelled) with changes left
            self._task = loop.create_task(self._drain())
        done: asyncio.Future[None] = loop.create_future()
        self._waiters.append((target, done))
        self._arrived.set()  # a commit gathering documents goes now
        await done

    def _wake(self, *, everyone: bool = False) -> None:
        waiting = []
        for target, done in self._waiters:
            if everyone or target <= self._completed:
                if not done.done():
                    done.set_result(None)
            else:
                waiting.append((target, done))
        self._waiters = waiting

    async def _submit(self, operation: _Operation, items: list[Any]) -> None:
        self._queue.append((operation, items))
        self._pending += len(items)
        self._submitted += 1
        self._arrived.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())
        if self._pending > MAX_PENDING:
            await self.flush()

    def _gathered(self) -> int:
        """Documents of the kind at the head of the queue, in a row."""
        operation, count = self._queue[0][0], 0
        for kind, items in self._queue:
            if kind != operation:
                break
            count += len(items)
        return count

    async def _gather(self) -> None:
        """Let the next commit gather more documents while they keep coming and nobody waits."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GATHER_SECONDS
        while (
            not self._waiters
            and self._queue[0][0] != "delete"
            and self._gathered() < GATHER_DOCUMENTS
            and (left := deadline - loop.time()) > 0
        ):
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                return

    def _take(self) -> tuple[_Operation, list[Any], int]:
        """The next operation, merged with the ones of the same kind right behind it, and how
        many operations were merged."""
        operation, items = self._queue.popleft()
        items, merged = list(items), 1
        while self._queue and self._queue[0][0] == operation:
            items += self._queue.popleft()[1]
            merged += 1
        return operation, items, merged

    async def _drain(self) -> None:
        index = self._index
        assert index is not None
        try:
            while self._queue:
                await self._running.wait()
                await self._gather()
                operation, items, merged = self._take()
                try:
                    # Changes reach the index as a stream (a bulk run, or many users at once):
                    # the index may complete optional structures of large batches later.
                    if operation == "add":
                        await index.add(items, bulk=True)
                    elif operation == "upsert":
                        await index.upsert(items, bulk=True)
                    else:
                        await index.delete(items)
                except IndexLocked as exc:  # (expected: another messenger writes the index)
                    noted = await self._note(operation, items)
                    if not self._told_locked:
                        self._told_locked = True
                        log.warning(
                            "%s: this messenger's changes reach it through the store (%s)",
                            exc,
                            "picked up by that one within seconds"
                            if noted
                            else "on that one's next open, or reindex() there",
                        )
                except Exception:  # the index must never block storing, sending or erasing
                    self.failures += 1
                    log.exception("search index %s failed for %d message(s)", operation, len(items))
                finally:
                    self._pending -= len(items)
                    self._completed += merged
                    self._wake()
        finally:
            if self._task is asyncio.current_task():
                self._task = None
            # Normally everyone is awake by now; if this task was cancelled, those waiting are
            # let go, and the next change handed over (or the next flush) restarts the writer.
            self._wake(everyone=True)
