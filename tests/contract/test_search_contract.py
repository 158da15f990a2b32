"""The SearchIndex contract (shipped in ``contos_messaging.testing.contracts``) on the fake
and on the Tantivy index."""

from __future__ import annotations

from collections.abc import Sequence

from contos_messaging.adapters.memory import InMemorySearchIndex
from contos_messaging.adapters.tantivy import TantivySearchIndex
from contos_messaging.ports import SearchDocument
from contos_messaging.testing.contracts import SearchIndexContract


class TestInMemorySearchIndex(SearchIndexContract):
    async def make_search_index(self, directory):
        return InMemorySearchIndex()


class TestTantivySearchIndex(SearchIndexContract):
    async def make_search_index(self, directory):
        """The index as a store wires it: with a source of the documents it was given (what
        pairs completed later and compactions re-read)."""
        index = await TantivySearchIndex.open(directory / "search", key=bytes(range(32)))
        stored: dict[str, SearchDocument] = {}
        upsert, add, delete = index.upsert, index.add, index.delete

        async def kept_upsert(documents: Sequence[SearchDocument], /, *, bulk: bool = False):
            stored.update((d.message_id, d) for d in documents)
            await upsert(documents, bulk=bulk)

        async def kept_add(documents: Sequence[SearchDocument], /, *, bulk: bool = False):
            stored.update((d.message_id, d) for d in documents)
            await add(documents, bulk=bulk)

        async def kept_delete(ids: Sequence[str], /):
            for message_id in ids:
                stored.pop(message_id, None)
            await delete(ids)

        async def source(ids: Sequence[str]) -> list[SearchDocument]:
            return [stored[i] for i in ids if i in stored]

        index.upsert, index.add, index.delete = kept_upsert, kept_add, kept_delete  # type: ignore[method-assign]
        index.fill_pairs_from(source)
        return index
