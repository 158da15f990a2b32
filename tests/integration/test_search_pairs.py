"""Word pairs on the embedded store: large batches are indexed without them first and
completed later; phrases find the same messages before, during and after."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

import pytest

from contos_messaging import Actor, AsyncMessenger, Contact, LinkedEntity, Permission
from contos_messaging.adapters.tantivy import TantivySearchIndex, pairs
from contos_messaging.adapters.tantivy.pairs import DEFER_ABOVE
from contos_messaging.services.search import stored_documents
from contos_messaging.testing import InMemoryContextProvider
from tests.integration.conftest import MASTER_KEY, store_search_key

FILLERS = DEFER_ABOVE + 10


@pytest.fixture
def no_idle_moment(monkeypatch):
    """The index never looks idle long enough to add pairs by itself during the test (however
    slow the machine), so what waits is known."""
    monkeypatch.setattr(pairs, "IDLE_SECONDS", 3600)


ADMIN = Actor("admin", permissions={Permission.MANAGE_TEMPLATES, Permission.COMPOSE})
NOTES = ["Dle komisní smlouvě, článek 4.", "Smlouvě komisní nerozumím.",
         "Komisní prodej; k smlouvě příloha."]  # fmt: skip


async def _seed(messenger, book, clerk):
    """A bulk run of messages from one template, three of them about a commission contract:
    one batch large enough to be indexed without word pairs first. Returns those three."""
    context: InMemoryContextProvider = messenger.ports.context  # type: ignore[assignment]
    clients = [LinkedEntity.client(f"C-{n}") for n in range(FILLERS + 3)]
    for n, client in enumerate(clients):
        book.add(client, Contact(f"Klient {n}", email=f"klient{n}@example.com"))
        context.add(client, {"n": n, "note": NOTES[n] if n < 3 else "Bez poznámky."})
    await messenger.templates.save(
        ADMIN,
        "notice",
        subject="Výplň {{ client.n }}",
        text="Zpráva číslo {{ client.n }}. {{ client.note }}",
    )
    report = await messenger.generate_bulk(clerk, "notice", [[c] for c in clients])
    assert not report.failures
    await messenger.wait_indexed()
    return report.created[:3]


async def _phrase(messenger, text: str) -> list[str]:
    page = await messenger.search(text, limit=50)
    assert page.total == len(page.hits)
    return [hit.message.id for hit in page.hits]


async def test_a_bulk_run_waits_for_its_pairs_and_phrases_find_the_same_meanwhile(
    messenger, book, clerk, no_idle_moment
):
    right, reversed_, apart = await _seed(messenger, book, clerk)
    index = messenger.ports.search
    assert index.waiting_for_pairs == FILLERS + 3
    assert await _phrase(messenger, '"komisni smlouve"') == [right]
    assert await _phrase(messenger, '"cislo 7"') == [await _id_of(messenger, "Výplň 7")]

    await index.complete_pairs()
    assert index.waiting_for_pairs == 0
    assert await _phrase(messenger, '"KOMISNÍ smlouvě"') == [right]
    assert await _phrase(messenger, '"smlouve komisni"') == [reversed_]
    assert await _phrase(messenger, '"komisni prodej" "k smlouve"') == [apart]
    assert await _phrase(messenger, '"cislo 7"') == [await _id_of(messenger, "Výplň 7")]


async def _id_of(messenger, subject: str) -> str:
    page = await messenger.search(f'"{subject}"')
    assert len(page.hits) == 1
    return page.hits[0].message.id


async def test_a_rebuild_and_single_messages_get_their_pairs_at_once(messenger, book, clerk):
    right, _reversed, _apart = await _seed(messenger, book, clerk)
    index = messenger.ports.search
    assert await messenger.reindex() == FILLERS + 3
    assert index.waiting_for_pairs == 0
    single = await messenger.compose_email(
        clerk, to="eva@example.com", subject="Nová", text="Podle komisní smlouvě."
    )
    assert index.waiting_for_pairs == 0
    found = await _phrase(messenger, '"komisni smlouve"')
    assert sorted(found) == sorted([right, single.id])


class _GatedIdleness:
    """``asyncio`` as ``pairs.py`` sees it, except that waiting for the index to be idle lasts
    until the test sets :attr:`idle` (instead of a moment of the wall clock)."""

    def __init__(self) -> None:
        self.idle = asyncio.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(asyncio, name)

    async def sleep(self, seconds: float) -> None:
        await self.idle.wait()


async def test_pairs_come_in_the_background_once_the_index_is_idle(
    messenger, store_dir, book, clerk, monkeypatch, no_idle_moment
):
    gate = _GatedIdleness()
    monkeypatch.setattr(pairs, "asyncio", gate)
    right, _reversed, _apart = await _seed(messenger, book, clerk)
    index = messenger.ports.search
    assert index.waiting_for_pairs == FILLERS + 3  # the index has not been idle yet

    asked: set[str] = set()
    all_asked = asyncio.Event()

    async def source(ids):
        asked.update(ids)
        if len(asked) == FILLERS + 3:
            all_asked.set()
        return await stored_documents(messenger.ports, ids)

    index.fill_pairs_from(source)  # the same documents, telling the test who asked for them
    monkeypatch.setattr(pairs, "IDLE_SECONDS", 0.0)
    gate.idle.set()  # the index is idle now
    await asyncio.wait_for(all_asked.wait(), 30)  # 30 s: only a guard against a hang
    assert index.waiting_for_pairs == 0  # nobody called complete_pairs()
    assert await _phrase(messenger, '"komisni smlouve"') == [right]
    await messenger.aclose()  # lets the chunk being completed finish

    bare = await TantivySearchIndex.open(
        store_dir / "search", key=await store_search_key(store_dir)
    )
    try:
        assert bare.waiting_for_pairs == 0  # every document was committed with its pairs
    finally:
        await bare.aclose()


async def test_documents_left_waiting_at_close_are_completed_after_the_next_open(
    messenger, store_dir, book, clerk, clock, no_idle_moment
):
    right, _reversed, _apart = await _seed(messenger, book, clerk)
    await messenger.aclose()  # before the index was idle long enough to add the pairs

    bare = await TantivySearchIndex.open(
        store_dir / "search", key=await store_search_key(store_dir)
    )  # no source: nothing completed
    try:
        assert bare.waiting_for_pairs == FILLERS + 3
    finally:
        await bare.aclose()

    reopened = await AsyncMessenger.open(
        store_dir, master_key=MASTER_KEY, company_sender="info@contos.example.com", clock=clock
    )
    try:
        assert await _phrase(reopened, '"komisni smlouve"') == [right]
        await reopened.ports.search.complete_pairs()
        assert reopened.ports.search.waiting_for_pairs == 0
        assert await _phrase(reopened, '"komisni smlouve"') == [right]
    finally:
        await reopened.aclose()

    bare = await TantivySearchIndex.open(
        store_dir / "search", key=await store_search_key(store_dir)
    )
    try:
        assert bare.waiting_for_pairs == 0
    finally:
        await bare.aclose()


async def test_a_change_made_while_pairs_wait_is_what_the_index_keeps(
    messenger, book, clerk, no_idle_moment
):
    right, _reversed, _apart = await _seed(messenger, book, clerk)
    await messenger.edit(clerk, right, text="Dle rámcové smlouvy, článek 4.")
    dropped = await _id_of(messenger, "Výplň 3")
    await messenger.ports.search.delete([dropped])
    await messenger.ports.search.complete_pairs()  # re-reads the store: the edited text
    assert await _phrase(messenger, '"komisni smlouve"') == []
    assert await _phrase(messenger, '"ramcove smlouvy"') == [right]
    assert dropped not in await messenger.ports.search.ids()  # still stored, not re-added


async def test_another_process_leaves_the_pairs_to_the_one_writing_the_index(
    messenger, store_dir, book, clerk, caplog, no_idle_moment
):
    await _seed(messenger, book, clerk)
    other = await TantivySearchIndex.open(
        store_dir / "search", key=await store_search_key(store_dir)
    )
    try:
        assert other.waiting_for_pairs == FILLERS + 3
        other.fill_pairs_from(partial(stored_documents, messenger.ports))
        with caplog.at_level(logging.INFO, logger="contos_messaging.search"):
            await other.complete_pairs()  # the owner holds the writer
        assert other.waiting_for_pairs == 0
        assert "another process writes the search index" in caplog.text
        assert "failed" not in caplog.text
    finally:
        await other.aclose()
    index = messenger.ports.search
    assert index.waiting_for_pairs == FILLERS + 3  # still the owner's to complete
    await index.complete_pairs()
    assert index.waiting_for_pairs == 0
