"""IndexUpdater: background, ordered, never raising, held back during a rebuild."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from contos_messaging import EmailRecipients, Message, MessageQuery, parse_address
from contos_messaging.adapters.memory import InMemorySearchIndex
from contos_messaging.services import indexing
from contos_messaging.services.indexing import IndexUpdater

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _message(subject: str) -> Message:
    return Message.email(
        sender=parse_address("info@contos.example.com"),
        recipients=EmailRecipients.parse("eva@example.com"),
        subject=subject,
        text="T",
        created_by="jana",
        created_at=T0,
    )


class RecordingIndex(InMemorySearchIndex):
    """The fake index, recording the order of writes (when they start). After :meth:`hold`,
    each add or upsert waits at a gate, like a slow commit, until the test lets it through
    (:meth:`let_through`) or opens the gate again (:meth:`open`); :attr:`at_gate` is set while
    a write waits there."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []
        self.bulk: list[bool] = []
        self.at_gate = asyncio.Event()
        self._held = False
        self._passes = asyncio.Semaphore(0)

    def hold(self) -> None:
        self._held = True

    def let_through(self, writes: int = 1) -> None:
        for _ in range(writes):
            self._passes.release()

    def open(self) -> None:
        self._held = False
        if self.at_gate.is_set():
            self._passes.release()

    async def _commit(self, kind: str, documents, bulk: bool) -> None:
        self.calls.append((kind, len(documents)))
        self.bulk.append(bulk)
        if not self._held:
            await asyncio.sleep(0)  # a commit lets other tasks run, as a real one does
            return
        self.at_gate.set()
        try:
            await self._passes.acquire()
        finally:
            self.at_gate.clear()

    async def add(self, documents, /, *, bulk=False):
        await self._commit("add", documents, bulk)
        await InMemorySearchIndex.upsert(self, documents)  # not the recording one

    async def upsert(self, documents, /, *, bulk=False):
        await self._commit("upsert", documents, bulk)
        await super().upsert(documents)

    async def delete(self, message_ids, /):
        self.calls.append(("delete", len(message_ids)))
        await super().delete(message_ids)


async def _ids(index, text: str) -> list[str]:
    return list((await index.search(text, MessageQuery())).ids)


async def test_changes_are_applied_in_order_in_merged_batches():
    index = RecordingIndex()
    updater = IndexUpdater(index)
    first, second = _message("Faktura"), _message("Upomínka")
    await updater.add([first])
    await updater.add([second])  # merged with the first: the writer has not run yet
    await updater.upsert([first.edited(at=T0, subject="Dobropis")])
    assert index.calls == []  # nothing waited for the index
    await updater.flush()
    assert index.calls == [("add", 2), ("upsert", 1)]
    assert index.bulk == [True, True]  # a stream of changes: the index may finish large ones later
    assert await _ids(index, "faktura") == []
    assert await _ids(index, "dobropis") == [first.id]
    await updater.delete([second.id])  # waits until it is gone
    assert await _ids(index, "upominka") == []


async def test_a_failing_index_is_counted_and_never_raises():
    index = InMemorySearchIndex()
    index.fail_with = OSError("disk full")
    updater = IndexUpdater(index)
    await updater.add([_message("A")])
    await updater.delete(["x"])
    await updater.flush()
    assert updater.failures == 2


async def test_changes_during_a_rebuild_wait_for_it_and_replace_what_it_indexed(monkeypatch):
    # Nothing gathers: a writer that did not hold back would write at its first step.
    monkeypatch.setattr(indexing, "GATHER_SECONDS", 0.0)
    index = RecordingIndex()
    updater = IndexUpdater(index)
    message = _message("Faktura")
    async with updater.rebuilding():
        await updater.add([message])
        await asyncio.sleep(0)  # the writer takes its first step
        assert index.calls == []  # held back
        await index.add([_search_document(message)])  # the rebuild indexes it as well
    await updater.flush()
    assert index.calls[-1] == ("upsert", 1)
    assert await index.count() == 1


def _search_document(message: Message):
    from contos_messaging.services.indexing import search_document

    return search_document(message)


async def test_flush_waits_for_earlier_changes_only_not_for_a_bulk_run_going_on():
    index = RecordingIndex()
    updater = IndexUpdater(index)
    first = _message("Faktura")
    index.hold()
    await updater.add([first])
    flushed = asyncio.ensure_future(updater.flush())
    await asyncio.wait_for(index.at_gate.wait(), 5)  # the commit of the first is under way
    assert index.calls == [("add", 1)]
    handed_over = 1
    for n in range(1, 6):  # a long run keeps handing over changes meanwhile
        await updater.add([_message(f"Upomínka {n}")])
        handed_over += 1
    index.let_through(1)  # the first commit ends; the next one waits at the gate
    await asyncio.wait_for(flushed, 5)  # did not wait for the changes handed over after it
    assert await _ids(index, "faktura") == [first.id]
    assert await index.count() == 1  # the run was still going on
    index.open()
    await updater.flush()
    assert await index.count() == handed_over


async def test_a_stream_of_new_messages_shares_commits_and_a_flush_ends_the_gathering(
    monkeypatch,
):
    # The gathering never times out here: only the flush (or enough documents) ends it.
    monkeypatch.setattr(indexing, "GATHER_SECONDS", 3600.0)
    index = RecordingIndex()
    updater = IndexUpdater(index)
    for n in range(6):  # batches of a bulk run, arriving one after the other
        await updater.add([_message(f"Upomínka {n}"), _message(f"Faktura {n}")])
        await asyncio.sleep(0)  # the writer sees the batch arrive and gathers on
    assert index.calls == []  # still gathering, nobody waits
    await asyncio.wait_for(updater.flush(), 5)
    assert index.calls == [("add", 12)]  # one commit for the six batches
    assert await index.count() == 12


async def test_a_search_during_a_rebuild_does_not_wait_for_it():
    from contos_messaging.testing import make_async_test_messenger

    messenger = make_async_test_messenger()
    updater = messenger._core.index
    async with updater.rebuilding():
        await updater.add([_message("Faktura")])  # held back until the rebuild ends
        page = await asyncio.wait_for(messenger.search("faktura"), 5)
        assert page.total == 0
    assert (await messenger.search("faktura")).total == 1
    await messenger.aclose()


async def test_a_flush_restarts_a_writer_that_was_stopped_with_changes_left():
    index = RecordingIndex()
    updater = IndexUpdater(index)
    await updater.add([_message("Faktura")])
    await updater.upsert([_message("Upomínka")])  # a second operation, queued behind
    task = updater._task
    assert task is not None
    task.cancel()  # e.g. a host cancelling everything on its loop
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.wait_for(updater.flush(), 5)
    assert await _ids(index, "upominka") != []


async def test_a_host_repository_from_before_unindexed_records_still_works():
    """A host-written repository without ``note_unindexed`` / ``unindexed`` (0.4): the
    messenger wires and waits as before (its index is caught up on the writer's next open)."""
    from contos_messaging import Actor, LinkedEntity, wire
    from contos_messaging.adapters.memory import (
        InMemoryBlobStore,
        InMemoryKeyStore,
        InMemoryMessageRepository,
        InMemorySearchIndex,
        InMemoryTemplateRepository,
    )

    class OldRepository:
        def __init__(self) -> None:
            self._inner = InMemoryMessageRepository()

        def __getattr__(self, name: str):
            if name in {"note_unindexed", "unindexed", "forget_unindexed"}:
                raise AttributeError(name)
            return getattr(self._inner, name)

    messenger = wire(
        company_sender="info@contos.example.com", repository=OldRepository(),
        templates=InMemoryTemplateRepository(), blobs=InMemoryBlobStore(),
        search=InMemorySearchIndex(), keys=InMemoryKeyStore(),
    )  # fmt: skip
    message = await messenger.compose_email(
        Actor.system(), to="a@example.com", subject="stara", text="t",
        links=[LinkedEntity.client("C-1")],
    )  # fmt: skip
    await messenger.wait_indexed()
    assert [hit.message.id for hit in await messenger.search("stara")] == [message.id]
    await messenger.aclose()
