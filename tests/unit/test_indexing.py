"""IndexUpdater: background, ordered, never raising, held back during a rebuild."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from contos_messaging import EmailRecipients, Message, MessageQuery, parse_address
from contos_messaging.adapters.memory import InMemorySearchIndex
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
    """The fake index, recording the order of writes and slowed down like a real commit."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []
        self.bulk: list[bool] = []

    async def add(self, documents, /, *, bulk=False):
        await asyncio.sleep(0.01)
        self.calls.append(("add", len(documents)))
        self.bulk.append(bulk)
        await InMemorySearchIndex.upsert(self, documents)  # not the recording one

    async def upsert(self, documents, /, *, bulk=False):
        await asyncio.sleep(0.01)
        self.calls.append(("upsert", len(documents)))
        self.bulk.append(bulk)
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


async def test_changes_during_a_rebuild_wait_for_it_and_replace_what_it_indexed():
    index = RecordingIndex()
    updater = IndexUpdater(index)
    message = _message("Faktura")
    async with updater.rebuilding():
        await updater.add([message])
        await asyncio.sleep(0.05)
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
    await updater.add([first])
    flushed = asyncio.ensure_future(updater.flush())
    handed_over = 1
    while not flushed.done():  # a long run keeps handing over changes
        assert handed_over < 50, "flush waited for changes handed over after it"
        await updater.add([_message(f"Upomínka {handed_over}")])
        handed_over += 1
        await asyncio.sleep(0.002)
    assert await _ids(index, "faktura") == [first.id]
    assert await index.count() < handed_over  # the run was still going on
    await updater.flush()
    assert await index.count() == handed_over


async def test_a_stream_of_new_messages_shares_commits_and_a_flush_ends_the_gathering():
    index = RecordingIndex()
    updater = IndexUpdater(index)
    for n in range(6):  # batches of a bulk run, arriving one after the other
        await updater.add([_message(f"Upomínka {n}"), _message(f"Faktura {n}")])
        await asyncio.sleep(0.03)  # longer than a commit takes here
    await updater.flush()
    adds = [n for kind, n in index.calls if kind == "add"]
    assert sum(adds) == 12
    assert len(adds) < 6  # fewer commits than batches


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
