"""The reading half of :class:`~contos_messaging.adapters.tantivy.TantivySearchIndex`:
searches (a small one on the event loop, any other on a reader thread), counts and ids."""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import tantivy

from contos_messaging.adapters.tantivy.page import collect
from contos_messaging.adapters.tantivy.pairs import (
    WAITING_FIELD,
    WAITING_VALUE,
)
from contos_messaging.adapters.tantivy.query import TooHeavy, all_documents, build_query
from contos_messaging.adapters.tantivy.schema import (
    message_ids,
)
from contos_messaging.adapters.tantivy.vocabulary import (
    Vocabulary,
)
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.text import search_terms, words
from contos_messaging.ports.search import SearchHits

__all__ = ["INLINE_PAGE", "INLINE_POSTINGS", "INLINE_WORDS", "IndexReads"]

# A search runs on the event loop when it is small: a first page of a few words, reading at
# most this many postings (2 ms at most with 100,000 messages, 0.4 - 0.7 ms typically; see
# query.py); any other on a reader thread (a round trip costs 0.1 - 0.3 ms, more on a busy
# machine: as much as a small search itself).
INLINE_POSTINGS = 200_000
INLINE_PAGE = 100
INLINE_WORDS = 4


class IndexReads:
    """Reads; mixed into ``TantivySearchIndex``, which holds the state annotated here."""

    _index: tantivy.Index | None
    _schema: tantivy.Schema
    _vocabulary: Vocabulary
    _readers: ThreadPoolExecutor
    _commits: int
    _waiting_seen: tuple[tuple[int, ...], int] | None

    async def _run(self, fn: Any, *args: Any) -> Any:  # (the index's: its writer thread)
        raise NotImplementedError

    def _any_waiting(self, searcher: tantivy.Searcher) -> bool:
        """Whether a live document in ``searcher`` still waits for its word pairs. The marker's
        document frequency counts deleted documents too (replaced with their pairs, not merged
        away yet), so live ones are counted, once per state of the index: its count of marked
        and of all documents (either grows when marked documents are added), the segments and
        this process's commits."""
        marked = searcher.doc_freq(WAITING_FIELD, WAITING_VALUE)
        if not marked:
            return False
        state = (
            self._commits,
            marked,
            all_documents(searcher),
            searcher.num_docs,
            searcher.num_segments,
        )
        if self._waiting_seen is None or self._waiting_seen[0] != state:
            marker = tantivy.Query.term_query(self._schema, WAITING_FIELD, WAITING_VALUE)
            result = searcher.search(
                marker, limit=1, count=True, order_by_field="created_at"
            )  # (ordered by a field: nothing is scored)
            self._waiting_seen = (state, int(getattr(result, "count", 0) or 0))
        return self._waiting_seen[1] > 0

    def _search(self, text: str, query: MessageQuery) -> SearchHits:
        """A search on a reader thread."""
        return self._find(text, query, budget=None)

    def _find(self, text: str, query: MessageQuery, *, budget: int | None) -> SearchHits:
        """Search; with a ``budget``, :class:`TooHeavy` as soon as the query would read more
        postings (before anything costly is built)."""
        assert self._index is not None
        self._vocabulary.refresh()  # (words another process added)
        searcher = self._index.searcher()
        built = build_query(
            self._schema,
            searcher,
            self._vocabulary,
            text,
            query,
            search_terms(text),
            waiting=partial(self._any_waiting, searcher),
            budget=budget,
        )
        if built is None:
            return SearchHits(ids=(), total=0)
        return collect(searcher, built, query)

    async def search(self, text: str, query: MessageQuery, /) -> SearchHits:
        """Run a query; any text is accepted (words as ``domain.text.search_terms``), any
        offset and limit too: the memory a search takes is bounded by its matches. A small
        search runs at once, any other on a reader thread, so that the event loop is never
        held for more than about a millisecond."""
        query = query.for_search()
        small = (
            query.offset + query.page_size(MessageQuery.SEARCH_PAGE) <= INLINE_PAGE
            and len(words(text)) <= INLINE_WORDS
        )
        if small:
            with contextlib.suppress(TooHeavy):
                return self._find(text, query, budget=INLINE_POSTINGS)
        loop = asyncio.get_running_loop()
        hits: SearchHits = await loop.run_in_executor(self._readers, self._search, text, query)
        return hits

    def _count(self) -> int:
        assert self._index is not None
        return int(self._index.searcher().num_docs)

    async def count(self) -> int:
        """Number of documents."""
        count: int = await self._run(self._count)
        return count

    def _ids(self) -> set[str]:
        assert self._index is not None
        searcher = self._index.searcher()
        total = searcher.num_docs
        if not total:
            return set()
        result = searcher.search(tantivy.Query.all_query(), limit=total, count=False)
        return set(message_ids(searcher, [address for _score, address in result.hits]))

    async def ids(self) -> set[str]:
        """Ids of every indexed message (to find what the index misses after a crash)."""
        ids: set[str] = await self._run(self._ids)
        return ids
