"""The bounds of search and of the communication list on the fakes, through both facades: a
search text, an offset or a page over its limit raises LimitExceeded naming the setting before
anything is parsed or read, hostile text gets a clear answer, and highlighting runs off the
event loop, so a search never holds up other calls on the same messenger."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    InvalidInput,
    LimitExceeded,
    Limits,
    LinkedEntity,
    Messenger,
    MessengerSettings,
)
from contos_messaging.services import search as search_service
from contos_messaging.testing import make_async_test_messenger, make_test_messenger

C1 = LinkedEntity.client("C-1")
CLERK = Actor.system()
SENDER = "ContOS s.r.o. <info@contos.example.com>"


async def _seed(messenger: AsyncMessenger, count: int = 3) -> list[str]:
    ids = []
    for n in range(count):
        message = await messenger.compose_email(
            CLERK, to="eva@example.com", subject=f"Faktura {n}", text="Splatnost faktury",
            links=[C1],
        )  # fmt: skip
        messenger.ports.clock.advance(60)
        ids.append(message.id)
    return ids


@pytest.fixture
async def messenger() -> AsyncIterator[AsyncMessenger]:
    async with make_async_test_messenger() as opened:
        yield opened


def _calls(messenger: AsyncMessenger) -> dict[str, Callable[..., Any]]:
    return {
        "search": lambda **kw: messenger.search("faktura", **kw),
        "history": lambda **kw: messenger.history(C1, **kw),
    }


@pytest.mark.parametrize("method", ["search", "history"])
@pytest.mark.parametrize("offset", [10_001, 10**6, 10**10, 2**64 + 1])
async def test_an_offset_past_the_limit_is_refused_naming_the_setting(messenger, method, offset):
    await _seed(messenger)
    with pytest.raises(LimitExceeded) as info:
        await _calls(messenger)[method](offset=offset)
    error = info.value
    assert (error.setting, error.value, error.limit) == ("offset", offset, 10_000)
    assert "Limits.offset" in str(error)
    assert "date range" in str(error)  # past the bound, narrow the filters instead
    assert error.hint


async def test_a_page_or_offset_too_long_to_print_is_refused_naming_the_setting(messenger):
    for setting, keyword in (("page_size", "limit"), ("offset", "offset")):
        with pytest.raises(LimitExceeded, match=r"about 10\^5000") as info:
            await messenger.search("faktura", **{keyword: 10**5000})
        assert info.value.setting == setting


@pytest.mark.parametrize("method", ["search", "history"])
async def test_the_deepest_page_allowed_is_an_empty_page_with_the_total(messenger, method):
    await _seed(messenger)
    page = await _calls(messenger)[method](offset=10_000)
    assert (len(page), page.total) == (0, 3)


@pytest.mark.parametrize("method", ["search", "history"])
async def test_a_page_over_the_limit_is_refused_naming_the_setting(messenger, method):
    with pytest.raises(LimitExceeded) as info:
        await _calls(messenger)[method](limit=1001)
    assert (info.value.setting, info.value.value, info.value.limit) == ("page_size", 1001, 1000)


@pytest.mark.parametrize("method", ["search", "history"])
async def test_raised_limits_admit_larger_and_deeper_pages(method):
    settings = MessengerSettings(SENDER, limits=Limits(offset=50_000, page_size=5_000))
    async with make_async_test_messenger(settings=settings) as messenger:
        await _seed(messenger)
        page = await _calls(messenger)[method](limit=5_000)
        assert (len(page), page.total) == (3, 3)
        assert len(await _calls(messenger)[method](offset=50_000)) == 0
        with pytest.raises(LimitExceeded, match=r"Limits\.offset"):
            await _calls(messenger)[method](offset=50_001)


@pytest.mark.parametrize(
    "text",
    ["x" * 1001, "faktura " * 126, "ž" * 1001, "x" * 10_000, "ahoj " * 200_000],
    ids=["1001-chars", "1008-chars-of-words", "1001-letters", "10000-chars", "1-MB"],
)
async def test_a_search_text_over_the_length_limit_is_refused_naming_the_setting(messenger, text):
    with pytest.raises(LimitExceeded) as info:
        await messenger.search(text)
    error = info.value
    assert (error.setting, error.value, error.limit, error.unit) == (
        "query_chars", len(text), 1000, "characters",
    )  # fmt: skip


async def test_a_search_text_of_the_longest_length_allowed_is_answered(messenger):
    await _seed(messenger)
    text = "faktura" + " " * 993
    assert len(text) == 1000
    assert (await messenger.search(text)).total == 3


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (" ".join(f"w{n}" for n in range(33)), 33),
        ("tak " * 33, 33),  # a word typed again counts again (phrases keep repeats)
        ('"' + "a " * 40 + '"', 40),
        ("č. 2024/0815 " * 11, 33),  # every run of letters or digits is a word
    ],
)
async def test_a_search_text_of_too_many_words_is_refused_naming_the_setting(
    messenger, text, words
):
    with pytest.raises(LimitExceeded) as info:
        await messenger.search(text)
    assert (info.value.setting, info.value.value, info.value.limit) == ("query_terms", words, 32)


async def test_a_search_text_of_the_most_words_allowed_is_answered(messenger):
    await _seed(messenger)
    assert (await messenger.search("faktura " * 32)).total == 3


async def test_raised_query_limits_admit_longer_texts():
    settings = MessengerSettings(SENDER, limits=Limits(query_chars=5_000, query_terms=500))
    async with make_async_test_messenger(settings=settings) as messenger:
        await _seed(messenger)
        assert (await messenger.search("faktura " * 500)).total == 3


@pytest.mark.parametrize("text", ["\ud800", "fak\udfffura", '"faktura \udc80"'])
async def test_a_lone_surrogate_in_the_search_text_is_refused(messenger, text):
    with pytest.raises(InvalidInput, match="lone surrogate"):
        await messenger.search(text)


@pytest.mark.parametrize("text", [42, b"faktura", None, ["faktura"]])
async def test_a_search_text_that_is_not_a_string_is_refused(messenger, text):
    with pytest.raises(InvalidInput, match="text takes str"):
        await messenger.search(text)


@pytest.mark.parametrize("mark", ["\x00", "\x1b", "\x7f", "\u202e", "\u2066", "\u200f", "\ufeff"])
async def test_control_and_bidi_characters_separate_words_as_a_space_does(messenger, mark):
    ids = await _seed(messenger)
    found = await messenger.search(f"{mark}faktura{mark}1{mark}")
    assert [hit.message.id for hit in found.hits] == [ids[1]]
    assert (await messenger.search(f"fak{mark}tura")).total == 0  # no word starts with "tura"


@pytest.mark.parametrize("text", ["", " ", "\t\n", "\u3000", "\u200b", '""', "!?;"])
async def test_a_text_without_words_lists_every_message_newest_first(messenger, text):
    ids = await _seed(messenger)
    page = await messenger.search(text)
    assert ([hit.message.id for hit in page.hits], page.total) == (ids[::-1], 3)


def test_the_blocking_facade_keeps_the_same_bounds():
    with make_test_messenger() as messenger:
        with pytest.raises(LimitExceeded) as info:
            messenger.search("ahoj", offset=10**10)
        assert info.value.setting == "offset"
        with pytest.raises(LimitExceeded) as info:
            messenger.history(C1, limit=10**6)
        assert info.value.setting == "page_size"
        with pytest.raises(LimitExceeded) as info:
            messenger.search("ahoj " * 1_000)
        assert info.value.setting == "query_chars"
        assert isinstance(messenger, Messenger)


async def test_a_long_page_is_highlighted_off_the_event_loop_while_other_calls_go_on(
    messenger, monkeypatch
):
    """The snippets of a page of long bodies are built on another thread: held there, the
    search waits while other calls on the same messenger complete."""
    ids = []
    for n in range(3):
        long = await messenger.compose_email(
            CLERK, to="eva@example.com", subject=f"Výpis {n}",
            text="úvod " * 20_000 + "splatnost faktury", links=[C1],
        )  # fmt: skip
        ids.append(long.id)
    entered, release = threading.Event(), threading.Event()
    threads: list[int] = []
    snippets = search_service._snippets

    def held(highlight: Any, messages: Any) -> Any:
        threads.append(threading.get_ident())
        entered.set()
        release.wait(10)
        return snippets(highlight, messages)

    monkeypatch.setattr(search_service, "_snippets", held)
    loop = asyncio.get_running_loop()
    searching = asyncio.ensure_future(messenger.search("splatnost"))
    try:
        assert await loop.run_in_executor(None, entered.wait, 10)
        other = await messenger.get(ids[0])  # on the loop, while the search is held
        listed = await messenger.history(C1)
        assert not release.is_set()
        assert not searching.done()
    finally:
        release.set()
    page = await searching
    assert (other.id, listed.total, page.total) == (ids[0], 3, 3)
    assert threads
    assert threading.get_ident() not in threads
    assert "<mark>splatnost</mark> faktury" in page.hits[0].snippet


async def test_a_short_page_of_words_searched_before_is_highlighted_on_the_loop(
    messenger, monkeypatch
):
    """Little work (short bodies, patterns compiled by an earlier search) stays on the loop:
    a thread's round trip would cost more than it takes. A word not searched before has its
    patterns compiled (most of a millisecond each) on the worker thread."""
    await messenger.compose_email(CLERK, to="eva@example.com", subject="Q", text="Qwzvx a")
    threads: list[int] = []
    snippets = search_service._snippets

    def recorded(highlight: Any, messages: Any) -> Any:
        threads.append(threading.get_ident())
        return snippets(highlight, messages)

    monkeypatch.setattr(search_service, "_snippets", recorded)
    first = await messenger.search("qwzvx")  # a word no other test searches
    again = await messenger.search("qwzvx")
    assert first.hits[0].snippet == again.hits[0].snippet == "<mark>Qwzvx</mark> a"
    loop = threading.get_ident()
    assert [thread == loop for thread in threads] == [False, True]
