"""The bounds of search and of the communication list on the embedded store (Tantivy, SQLite):
the same hostile values get the same outcome as on the fakes; a deep page never makes Tantivy
allocate for the offset asked (it aborted the process); and Tantivy's work runs off the event
loop, so a search never holds up other calls on the same messenger."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    InvalidInput,
    LimitExceeded,
    LinkedEntity,
    MessageQuery,
)
from contos_messaging.adapters.clock import ManualClock
from contos_messaging.adapters.tantivy import TantivySearchIndex
from contos_messaging.adapters.tantivy import reading as tantivy_reading
from contos_messaging.testing import RecordingEmailTransport, make_async_test_messenger
from contos_messaging.testing.contracts.search import T0, doc
from tests.integration.conftest import INDEX_KEY, MASTER_KEY

C1 = LinkedEntity.client("C-1")
CLERK = Actor.system()
SENDER = "ContOS <info@contos.example.com>"
PLUS_5 = timezone(timedelta(hours=5))
FIRST, LAST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
ALL = ("Faktura 2", "Faktura 1", "Faktura 0")


async def _open_embedded(path: Path, clock: ManualClock) -> AsyncMessenger:
    return await AsyncMessenger.open(
        path, master_key=MASTER_KEY, company_sender=SENDER,
        email_transport=RecordingEmailTransport(), clock=clock,
    )  # fmt: skip


async def _seed(messenger: AsyncMessenger) -> None:
    for n in range(3):
        await messenger.compose_email(
            CLERK, to="eva@example.com", subject=f"Faktura {n}",
            text=f"Splatnost faktury, \u202eBanka {n}", links=[C1],
        )  # fmt: skip
        messenger.ports.clock.advance(60)


@pytest.fixture
async def both(tmp_path: Path, clock: ManualClock) -> AsyncIterator[list[AsyncMessenger]]:
    """The fakes and the embedded store, holding the same three messages."""
    fakes = make_async_test_messenger(clock=ManualClock(clock.now()))
    embedded = await _open_embedded(tmp_path / "store", clock)
    async with fakes, embedded:
        for messenger in (fakes, embedded):
            await _seed(messenger)
        yield [fakes, embedded]


def _search(text: Any, **filters: Any) -> Callable[[AsyncMessenger], Awaitable[Any]]:
    return lambda m: m.search(text, **filters)


def _history(**filters: Any) -> Callable[[AsyncMessenger], Awaitable[Any]]:
    return lambda m: m.history(C1, **filters)


# (input class, call, expected outcome): a LimitExceeded as (setting, limit), another error as
# its type, or the subjects found (in order) and the total.
CASES: list[tuple[str, Callable[[AsyncMessenger], Awaitable[Any]], Any]] = [
    ("offset over the limit", _search("faktura", offset=10_001), ("offset", 10_000)),
    ("offset 10**10", _search("ahoj", offset=10**10), ("offset", 10_000)),
    ("offset 2**64 + 1", _search("", offset=2**64 + 1), ("offset", 10_000)),
    ("list offset 10**10", _history(offset=10**10), ("offset", 10_000)),
    ("deepest offset", _search("faktura", offset=10_000), ((), 3)),
    ("list, deepest offset", _history(offset=10_000), ((), 3)),
    ("page over the limit", _search("faktura", limit=1001), ("page_size", 1000)),
    ("list page over the limit", _history(limit=10**9), ("page_size", 1000)),
    ("1,001 characters", _search("x" * 1001), ("query_chars", 1000)),
    ("10,000 characters", _search("faktura " * 1250), ("query_chars", 1000)),
    ("1 MB", _search("ahoj " * 200_000), ("query_chars", 1000)),
    ("33 words", _search("faktura " * 33), ("query_terms", 32)),
    (
        "32 words",
        _search("faktura " * 32, order="newest"),
        (("Faktura 2", "Faktura 1", "Faktura 0"), 3),
    ),
    ("lone surrogate", _search("faktura \ud800"), InvalidInput),
    ("not a string", _search(b"faktura"), InvalidInput),
    ("control characters", _search("\x1bfaktura\x00 1\x7f"), (("Faktura 1",), 1)),
    ("bidi characters", _search("\u2066faktura\u2069 \u202ebanka 2"), (("Faktura 2",), 1)),
    ("naive date", _search("faktura", since=datetime(2026, 1, 1)), InvalidInput),
    ("list, naive date", _history(until=datetime(2026, 1, 1)), InvalidInput),
    ("date out of range", _search("", since=datetime.min.replace(tzinfo=PLUS_5)), InvalidInput),
    ("far dates", _search("faktura", since=FIRST, until=LAST, order="newest"), (ALL, 3)),
    ("list, far dates", _history(since=FIRST, until=LAST), (ALL, 3)),
    ("since the last date", _search("faktura", since=LAST), ((), 0)),
    ("list, until the first date", _history(until=FIRST), ((), 0)),
    ("empty", _search(""), (("Faktura 2", "Faktura 1", "Faktura 0"), 3)),
    ("white space only", _search(" \t\n\u3000"), (("Faktura 2", "Faktura 1", "Faktura 0"), 3)),
    ("no words", _search('"" !?; \u200b'), (("Faktura 2", "Faktura 1", "Faktura 0"), 3)),
]


async def _outcome(call: Callable[[AsyncMessenger], Awaitable[Any]], m: AsyncMessenger) -> Any:
    try:
        page = await call(m)
    except LimitExceeded as exc:
        return (exc.setting, exc.limit)
    except InvalidInput:
        return InvalidInput
    items = getattr(page, "hits", None)
    messages = [hit.message for hit in items] if items is not None else list(page.items)
    return (tuple(message.subject for message in messages), page.total)


@pytest.mark.parametrize(("case", "call", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_hostile_values_get_the_same_outcome_on_the_fakes_and_the_embedded_store(
    both, case, call, expected
):
    outcomes = [await _outcome(call, messenger) for messenger in both]
    assert outcomes == [expected, expected], case


_DEEP_PAGES = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime, timedelta
    from contos_messaging import AsyncMessenger, Limits, MessageQuery, MessengerSettings, Actor
    from contos_messaging.adapters.tantivy import TantivySearchIndex
    from contos_messaging.testing.contracts.search import doc

    async def main(path):
        index = await TantivySearchIndex.open(path + "/search", key=bytes(32))
        await index.upsert([doc(n, body="ahoj") for n in range(1, 4)])
        for offset in (10**6, 10**10, 2**63, 2**64 + 1):
            for order in ("relevance", "newest"):
                hits = await index.search("ahoj", MessageQuery(offset=offset, order=order))
                print(offset, order, hits.ids, hits.total)
        for limit in (10**10, 2**64 + 1):
            query = MessageQuery(limit=limit, offset=1, order="newest")
            hits = await index.search("ahoj", query)
            print("limit", limit, hits.ids, hits.total)
        await index.aclose()
        settings = MessengerSettings("ContOS <info@contos.example.com>",
                                     limits=Limits(offset=10**12, page_size=10**12))
        async with await AsyncMessenger.open(path + "/store", settings=settings,
                                             master_key=sys.argv[2]) as messenger:
            await messenger.compose_sms(Actor.system(), to="601123456", text="ahoj")
            page = await messenger.search("ahoj", offset=10**10, limit=10**11)
            print("facade", len(page.hits), page.total)

    asyncio.run(main(sys.argv[1]))
    """
)


def test_a_deep_page_is_empty_with_the_total_and_never_allocates_for_the_offset(tmp_path):
    """Tantivy sizes its collector by offset + limit: 10**10 made it ask for 160 GB and abort
    the process. The index answers any offset and limit from the number of matches (run in a
    child process, so that a failure cannot take the test session down with it)."""
    done = subprocess.run(
        [sys.executable, "-c", _DEEP_PAGES, str(tmp_path), MASTER_KEY],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    offsets = [f"{o} {order} () 3" for o in (10**6, 10**10, 2**63, 2**64 + 1)
               for order in ("relevance", "newest")]  # fmt: skip
    assert lines[: len(offsets)] == offsets
    assert lines[len(offsets) : len(offsets) + 2] == [
        f"limit {10**10} ('m002', 'm001') 3", f"limit {2**64 + 1} ('m002', 'm001') 3",
    ]  # fmt: skip
    assert lines[-1] == "facade 0 1"


@pytest.fixture
async def messenger(tmp_path: Path, clock: ManualClock) -> AsyncIterator[AsyncMessenger]:
    async with await _open_embedded(tmp_path / "store", clock) as opened:
        await _seed(opened)
        yield opened


async def test_a_heavy_search_runs_off_the_event_loop_while_other_calls_go_on(
    messenger, monkeypatch
):
    """A search over the inline budget (here every one) runs on a reader thread of the index:
    held there, it waits while other calls on the same messenger (reads of the store, a new
    message) complete."""
    index = messenger.ports.search
    assert isinstance(index, TantivySearchIndex)
    monkeypatch.setattr(tantivy_reading, "INLINE_POSTINGS", 0)
    entered, release = threading.Event(), threading.Event()
    threads: list[int] = []
    search = index._search

    def held(text: str, query: MessageQuery) -> Any:
        threads.append(threading.get_ident())
        entered.set()
        release.wait(10)
        return search(text, query)

    monkeypatch.setattr(index, "_search", held)
    loop = asyncio.get_running_loop()
    searching = asyncio.ensure_future(messenger.search("faktury"))
    try:
        assert await loop.run_in_executor(None, entered.wait, 10)
        listed = await messenger.history(C1)
        new = await messenger.compose_sms(CLERK, to="601123456", text="Zítra v 9")
        assert not release.is_set()
        assert not searching.done()
    finally:
        release.set()
    page = await searching
    assert listed.total == 3
    assert page.total == 3
    assert threads
    assert threading.get_ident() not in threads
    assert (await messenger.search("zitra")).hits[0].message.id == new.id


async def test_a_search_never_waits_for_a_commit_in_progress(tmp_path, monkeypatch):
    """Reads run on their own thread, not behind the writer's: a commit held on the writer's
    thread does not hold up a search of what is committed."""
    index = await TantivySearchIndex.open(tmp_path / "search", key=INDEX_KEY)
    try:
        await index.upsert([doc(1, body="ahoj")])
        entered, release = threading.Event(), threading.Event()
        commit = index._commit

        def held() -> None:
            entered.set()
            release.wait(10)
            commit()

        monkeypatch.setattr(index, "_commit", held)
        writing = asyncio.ensure_future(index.upsert([doc(2, body="ahoj")]))
        try:
            assert await asyncio.get_running_loop().run_in_executor(None, entered.wait, 10)
            hits = await index.search("ahoj", MessageQuery())
            assert not release.is_set()
            assert not writing.done()
        finally:
            release.set()
        await writing
        assert hits.ids == ("m001",)
        assert (await index.search("ahoj", MessageQuery())).total == 2
    finally:
        await index.aclose()


async def test_small_searches_run_at_once_and_costly_ones_on_a_reader_thread(tmp_path, monkeypatch):
    """A first page of a few words reading few postings is answered on the loop (a thread's
    round trip costs as much); a deep page, many words, or a query reading more postings than
    the budget (an automaton for a word starting more than 64 indexed words, a date range: as
    many as there are documents) go to a reader thread, the costly part never built on the
    loop."""
    index = await TantivySearchIndex.open(tmp_path / "search", key=INDEX_KEY)
    try:
        await index.upsert([doc(n, body=f"ahoj sazba{n}") for n in range(1, 71)])
        threads: list[bool] = []
        find = index._find

        def recorded(text: str, query: MessageQuery, *, budget: int | None) -> Any:
            threads.append(threading.get_ident() == loop)
            return find(text, query, budget=budget)

        monkeypatch.setattr(index, "_find", recorded)
        loop = threading.get_ident()

        async def where(text: str, query: MessageQuery, total: int) -> list[bool]:
            threads.clear()
            assert (await index.search(text, query)).total == total
            return list(threads)

        on_loop, tried_then_thread, thread = [True], [True, False], [False]
        assert await where("sazba12", MessageQuery(), 1) == on_loop
        assert await where('"ahoj sazba12"', MessageQuery(), 1) == on_loop
        assert await where("sa", MessageQuery(), 70) == on_loop  # 70 postings: within budget
        assert await where("ahoj", MessageQuery(offset=100), 70) == thread
        assert await where("ahoj", MessageQuery(limit=101), 70) == thread
        assert await where("a h o j s", MessageQuery(), 0) == thread
        monkeypatch.setattr(tantivy_reading, "INLINE_POSTINGS", 69)
        assert await where("sa", MessageQuery(), 70) == tried_then_thread
        assert await where("", MessageQuery(since=T0), 70) == tried_then_thread
        assert await where("", MessageQuery(), 70) == tried_then_thread
        assert await where("sazba12", MessageQuery(since=T0), 1) == tried_then_thread
        assert await where("sazba12", MessageQuery(), 1) == on_loop
    finally:
        await index.aclose()
