"""The rewriting half of :class:`~contos_messaging.adapters.tantivy.TantivySearchIndex`:
compaction after an erasure (documents written before a generation indexed again, a chunk
per commit, then unused files and words dropped; see ``compaction.py``) and the completion of
documents that wait for their word pairs (``pairs.py``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import tantivy

from contos_messaging.adapters.tantivy.compaction import CHUNK, Compactor
from contos_messaging.adapters.tantivy.pairs import (
    DocumentSource,
    PairBackfill,
)
from contos_messaging.adapters.tantivy.schema import (
    message_ids,
)
from contos_messaging.adapters.tantivy.vocabulary import (
    Vocabulary,
)
from contos_messaging.errors import StorageError
from contos_messaging.ports.search import CompactionReport, SearchDocument

__all__ = ["SOURCE_SLICE", "IndexRewrites"]

log = logging.getLogger("contos_messaging.search")

# Documents fetched from the store at a time while compacting (see _rewrite_older).
SOURCE_SLICE = 100


class IndexRewrites:
    """Rewrites; mixed into ``TantivySearchIndex``, which holds the state annotated here."""

    _index: tantivy.Index | None
    _writer: tantivy.IndexWriter | None
    _schema: tantivy.Schema
    _vocabulary: Vocabulary
    _writing: asyncio.Lock
    _source: DocumentSource | None
    _backfill: PairBackfill
    _compactor: Compactor

    async def _run(self, fn: Any, *args: Any) -> Any:  # (the index's: its writer thread)
        raise NotImplementedError

    def _writer_now(self) -> tantivy.IndexWriter:
        raise NotImplementedError

    def _document(self, doc: SearchDocument, *, pairs: bool = True) -> tantivy.Document:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    async def _apply(
        self, stage: Callable[[tantivy.IndexWriter], None], *, on_helper: bool = False
    ) -> None:
        raise NotImplementedError

    async def compact(self) -> CompactionReport:
        """Rewrite the index until no file holds a document deleted so far (after an erasure):
        in the background of searches and writes, in chunks of one commit; returns when done
        (at once when nothing was deleted since the last compaction). Needs the documents'
        source (:meth:`fill_pairs_from`)."""
        if self._source is None and self._compactor.pending:
            raise StorageError("the search index cannot compact without a document source")
        return await self._compactor.compact()

    @property
    def compacting(self) -> bool:
        """Whether a compaction is under way."""
        return self._compactor.running

    def _older_ids(self, generation: int, limit: int) -> list[str]:
        assert self._index is not None
        searcher = self._index.searcher()
        older = tantivy.Query.range_query(
            self._schema, "generation", tantivy.FieldType.Unsigned, 0, generation - 1
        )
        result = searcher.search(older, limit=limit, count=False, order_by_field="created_at")
        return list(message_ids(searcher, [address for _score, address in result.hits]))

    async def _rewrite_older(self, generation: int) -> int:
        """Re-index up to a chunk of live documents written before ``generation``, in one
        commit; how many were found."""
        assert self._source is not None
        async with self._writing:
            self._writer_now()
            ids = await self._run(self._older_ids, generation, CHUNK)
            if not ids:
                return 0
            documents: list[SearchDocument] = []
            for start in range(0, len(ids), SOURCE_SLICE):
                # Read and built a slice at a time: building a document is Python work on the
                # event loop, and searches must not wait behind a whole chunk of it.
                documents += await self._source(ids[start : start + SOURCE_SLICE])
                await asyncio.sleep(0)

            def stage(writer: tantivy.IndexWriter) -> None:
                for message_id in ids:  # (those gone from the store are just deleted)
                    writer.delete_documents_by_term("message_id", message_id)
                for doc in documents:
                    writer.add_document(self._document(doc))

            await self._apply(stage, on_helper=True)
            self._backfill.wrote(done=ids)
            return len(ids)

    def _drop_unused(self) -> int:
        """Wait for the merges under way, commit (segments whose documents are all deleted
        go), remove the files no longer used, and drop the words no document holds."""
        assert self._index is not None
        assert self._writer is not None
        self._writer.wait_merging_threads()  # (consumes the writer)
        self._writer = None
        self._writer_now()
        self._commit()
        assert self._writer is not None
        self._writer.garbage_collect_files()
        searcher = self._index.searcher()
        return self._vocabulary.keep_only(lambda token: searcher.doc_freq("text", token) > 0)

    async def _finish_compaction(self) -> int:
        async with self._writing:
            self._writer_now()
            dropped: int = await self._run(self._drop_unused)
            return dropped

    async def _complete_pairs(self, message_ids: list[str]) -> None:
        """Re-index documents with their word pairs, fetched from the source while holding the
        write lock: a change made meanwhile reaches the index after this, never before."""
        if not message_ids or self._source is None:
            return
        async with self._writing:
            try:
                self._writer_now()
            except StorageError:
                self._backfill.forget()
                log.info("another process writes the search index: it adds the word pairs")
                return
            documents = list(await self._source(message_ids))

            def stage(writer: tantivy.IndexWriter) -> None:
                # Building a document (its pairs above all) overlaps with Tantivy indexing the
                # previous one on its own thread.
                for doc in documents:
                    writer.delete_documents_by_term("message_id", doc.message_id)
                    writer.add_document(self._document(doc))

            if documents:
                await self._apply(stage, on_helper=True)
