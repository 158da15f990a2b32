"""The SearchIndex contract (shipped in ``contos_messaging.testing.contracts``) on the fake
and on the Tantivy index."""

from __future__ import annotations

from contos_messaging.adapters.memory import InMemorySearchIndex
from contos_messaging.adapters.tantivy import TantivySearchIndex
from contos_messaging.testing.contracts import SearchIndexContract


class TestInMemorySearchIndex(SearchIndexContract):
    async def make_search_index(self, directory):
        return InMemorySearchIndex()


class TestTantivySearchIndex(SearchIndexContract):
    async def make_search_index(self, directory):
        return await TantivySearchIndex.open(directory / "search")
