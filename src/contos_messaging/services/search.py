"""Searching: full-text search over the store (a page of hits decrypted from the store), and
keeping the index in step with it (rebuild, catch-up after a crash)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Sequence

import attrs

from contos_messaging.domain.limits import Limits
from contos_messaging.domain.message import Message
from contos_messaging.domain.page import Page
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.text import Highlighter, search_terms, words
from contos_messaging.errors import (
    ConfigurationError,
    InvalidInput,
    KeyUnavailable,
    MessageNotFound,
)
from contos_messaging.ports import SearchDocument, SearchIndex
from contos_messaging.ports.keys import CLIENT_ERASED
from contos_messaging.services.composing import Progress
from contos_messaging.services.core import Core
from contos_messaging.services.indexing import search_document
from contos_messaging.services.settings import Ports

__all__ = [
    "SearchHit", "SearchPage", "catch_up", "rebuild", "reindex", "search", "stored_documents",
]  # fmt: skip

log = logging.getLogger("contos_messaging.search")


@attrs.frozen
class SearchHit:
    """One found message (decrypted from the store) and a highlighted extract as safe HTML."""

    message: Message
    snippet: str


@attrs.frozen
class SearchPage(Page[SearchHit]):
    """One page of hits, best (or newest) first, and the number of all matches: a
    :class:`~contos_messaging.Page` of :class:`SearchHit` (iterate it, or read :attr:`hits`).

    ``erased`` counts the matches of this page whose client was erased (the index still held
    them: an erasure interrupted, or still deleting): they are left out of ``hits`` and still
    count in ``total``; the next page starts at ``offset + len(hits) + erased``.

    .. versionchanged:: 0.4 a :class:`~contos_messaging.Page` (iterable), built with ``items``
    """

    @property
    def hits(self) -> tuple[SearchHit, ...]:
        """The hits of this page (its ``items``)."""
        return self.items


def _index(ports: Ports) -> SearchIndex:
    if ports.search is None:
        raise ConfigurationError("no full-text search index is configured")
    return ports.search


async def _load(ports: Ports, ids: Sequence[str]) -> tuple[list[Message], int]:
    """Messages in the order of ``ids``, skipping ids the store no longer has and messages of
    erased clients (never opened; how many: the second value)."""
    try:
        return await ports.repository.get_many(ids), 0
    except (MessageNotFound, KeyUnavailable):
        found, erased = [], 0
        for message_id in ids:
            try:
                found.append(await ports.repository.get(message_id))
            except MessageNotFound:
                log.warning("search index holds %s, which the store does not", message_id)
            except KeyUnavailable as exc:
                if exc.reason != CLIENT_ERASED:
                    raise
                erased += 1
        return found, erased


async def stored_documents(ports: Ports, ids: Sequence[str]) -> list[SearchDocument]:
    """Search documents of stored messages by id, skipping ids the store no longer has (what an
    index re-reads to complete documents it indexed in a hurry)."""
    return [search_document(m) for m in (await _load(ports, ids))[0]]


def _snippet(highlight: Highlighter, message: Message) -> str:
    if message.text is not None:
        return highlight.text(message.text)
    if message.html:
        return highlight.html(message.html)
    return highlight.text(message.subject)


def _shown(message: Message) -> int:
    """The length of what a message's snippet is taken from (as :func:`_snippet` chooses)."""
    if message.text is not None:
        return len(message.text)
    return len(message.html) if message.html else len(message.subject)


def _snippets(highlight: Highlighter, messages: Sequence[Message]) -> list[str]:
    """The highlighted extract of each message."""
    return [_snippet(highlight, m) for m in messages]


# Highlighting work (Highlighter.cost) done on the event loop: 2 - 3 ms at worst; a page
# with more (long bodies, many words, words not searched before) is highlighted on a worker
# thread, which costs a thread's round trip (~0.2 ms) for every page.
INLINE_HIGHLIGHTING = 150_000


async def _highlighted(text: str, messages: Sequence[Message]) -> list[str]:
    if not messages:
        return []
    highlight = Highlighter(search_terms(text))
    if highlight.cost(map(_shown, messages)) <= INLINE_HIGHLIGHTING:
        return _snippets(highlight, messages)
    return await asyncio.to_thread(_snippets, highlight, messages)


def _checked_text(text: object, limits: Limits) -> str:
    """``text`` if it is search text within ``limits`` (``query_chars``, then ``query_terms``:
    its words, a repeated word counted again), checked before anything parses it; otherwise
    :class:`InvalidInput` (:class:`LimitExceeded` naming the setting). A lone surrogate is
    refused: it is not text, and no stored message can hold one."""
    if not isinstance(text, str):
        raise InvalidInput(f"the search text must be a string, got {type(text).__name__}")
    limits.check("query_chars", "the search text", len(text), "characters")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            code = ord(text[exc.start])
            raise InvalidInput(
                f"the search text contains a lone surrogate (U+{code:04X}), not text"
            ) from None
    limits.check("query_terms", "the number of words in the search text", len(words(text)))
    return text


async def search(core: Core, text: str, query: MessageQuery) -> SearchPage:
    """See ``AsyncMessenger.search``: check the text and the page against the messenger's
    limits, query the index, then decrypt and highlight only the page shown (a long page on a
    worker thread, as the index searches on threads of its own)."""
    limits = core.settings.limits
    text = _checked_text(text, limits)
    query = query.for_search().within(limits)
    if not core.index.is_rebuilding:  # (a search during a rebuild does not wait for it)
        await core.index.flush()  # see what was just stored
    ports = core.ports
    hits = await _index(ports).search(text, query)
    messages, erased = await _load(ports, hits.ids)
    snippets = await _highlighted(text, messages)
    return SearchPage(
        tuple(SearchHit(m, s) for m, s in zip(messages, snippets, strict=True)),
        total=hits.total,
        limit=query.page_size(MessageQuery.SEARCH_PAGE),
        offset=query.offset,
        erased=erased,
    )


async def rebuild(core: Core, *, progress: Progress | None) -> int:
    """See ``AsyncMessenger.reindex``."""
    async with core.index.rebuilding():
        return await reindex(core.ports, progress=progress)


async def reindex(ports: Ports, *, batch: int = 2000, progress: Progress | None = None) -> int:
    """Rebuild the index from the store; returns the number of messages indexed.
    ``progress(done, total)`` is called after each batch."""
    index = _index(ports)
    total = 0
    if progress is not None:
        after_id = None
        while ids := await ports.repository.message_ids(after=after_id):
            total += len(ids)
            after_id = ids[-1]
    await index.clear()
    count, after = 0, None
    while page := await ports.repository.scan(after=after, limit=batch):
        await index.add([search_document(m) for m in page])
        count += len(page)
        after = page[-1].id
        if progress is not None:
            outcome = progress(count, max(total, count))
            if inspect.isawaitable(outcome):
                await outcome
    return count


async def catch_up(ports: Ports, *, batch: int = 2000) -> tuple[int, int]:
    """Index what the store has and the index lacks (after a crash between the store's commit
    and the index's), and drop what the index has and the store does not (erased by another
    process, say). Returns how many documents were added and how many dropped."""
    index = _index(ports)
    indexed = await index.ids()
    stored: set[str] = set()
    missing: list[str] = []
    after = None
    while page := await ports.repository.message_ids(after=after):
        stored.update(page)
        missing += [message_id for message_id in page if message_id not in indexed]
        after = page[-1]
    for start in range(0, len(missing), batch):
        messages, _erased = await _load(ports, missing[start : start + batch])
        await index.add([search_document(m) for m in messages])
    extra = sorted(indexed - stored)
    if extra:
        await index.delete(extra)
    return len(missing), len(extra)
