"""TantivySearchIndex: the full-text index of the embedded store, in a directory of its own.

Text is split into words, lower-cased and folded to ASCII (``dvorak`` finds ``Dvořák``), and
each word is indexed as a keyed token, never as itself (see ``vocabulary.py``): without the
master key the files give no word back and confirm none. Every query word matches words
starting with it, so Czech inflections are found from a stem (``novák`` finds ``Nováková`` and
``Nováka``): the word is expanded through the sealed vocabulary to the indexed words it starts,
whose tokens are then scored (BM25) like typed words (see ``query.py``). Hits are shown from the
decrypted store. After an erasure, :meth:`TantivySearchIndex.compact` rewrites the index until
no file holds a deleted document (see ``compaction.py``). One process writes (Tantivy's lock);
another gets a clear error when it tries. An index written by an older layout, or under another
key, is emptied on open and rebuilt from the store (it is derived data).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import tantivy

from contos_messaging.adapters.tantivy.compaction import Compactor
from contos_messaging.adapters.tantivy.pairs import (
    DEFER_ABOVE,
    WAITING_FIELD,
    WAITING_VALUE,
    DocumentSource,
    PairBackfill,
)
from contos_messaging.adapters.tantivy.reading import IndexReads
from contos_messaging.adapters.tantivy.rewriting import IndexRewrites
from contos_messaging.adapters.tantivy.schema import (
    LAYOUT,
    LAYOUT_FILE,
    build_document,
    build_schema,
    is_index_file,
    message_ids,
)
from contos_messaging.adapters.tantivy.vocabulary import (
    VOCABULARY_FILE,
    Vocabulary,
    VocabularyDamaged,
    key_check,
)
from contos_messaging.errors import IndexLocked, StorageError
from contos_messaging.ports.search import CompactionReport, SearchDocument

__all__ = ["TantivySearchIndex"]

log = logging.getLogger("contos_messaging.search")


class TantivySearchIndex(IndexReads, IndexRewrites):
    """Search index in a directory. Open with ``await TantivySearchIndex.open(path, key=...)``
    (the store's search key: ``vocabulary.search_key``)."""

    def __init__(self, path: Path, key: bytes) -> None:
        self._path = path
        self._key = key
        self._vocabulary = Vocabulary(path / VOCABULARY_FILE, key)
        self._compactor = Compactor(
            rewrite=self._rewrite_older, finish=self._finish_compaction, save=self._save_layout
        )
        self._schema = build_schema()
        self._index: tantivy.Index | None = None
        self._writer: tantivy.IndexWriter | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search")
        # Searches run on threads of their own: off the event loop, and never behind a commit
        # on the writer's thread (Tantivy's searchers are safe to share).
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="search-read")
        self._writing = asyncio.Lock()
        self._source: DocumentSource | None = None
        self._backfill = PairBackfill(self._complete_pairs)
        self._waiting_on_open: list[str] = []
        self._commits = 0  # by this process: a searcher after a commit may differ
        self._waiting_seen: tuple[tuple[int, ...], int] | None = None

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *, key: bytes) -> TantivySearchIndex:
        """Open (or create) the index in ``path``, its words keyed under ``key`` (32 bytes)."""
        if not isinstance(key, bytes) or len(key) != 32:
            raise StorageError("the search index needs a 32-byte key")
        index = cls(Path(path), key)
        try:
            await index._run(index._open)
        except BaseException:
            index._executor.shutdown(wait=False)
            index._readers.shutdown(wait=False)
            raise
        return index

    def _open(self) -> None:
        self._path.mkdir(parents=True, exist_ok=True)
        try:
            layout = json.loads((self._path / LAYOUT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            layout = None
        if not isinstance(layout, dict):
            layout = {}
        written = (layout.get("layout"), layout.get("key"))
        if written != (LAYOUT, key_check(self._key)):
            if (self._path / "meta.json").exists():
                log.warning(
                    "search index in %s has layout %s (this library writes %s) or another key:"
                    " emptied, to be rebuilt from the store",
                    self._path,
                    written[0],
                    LAYOUT,
                )
            self._empty_directory()
            layout = {}
        generation, compacted = layout.get("generation", 0), layout.get("compacted", 0)
        if isinstance(generation, int) and isinstance(compacted, int):
            self._compactor.generation, self._compactor.compacted = generation, compacted
        if layout != self._layout(self._compactor.generation, self._compactor.compacted):
            self._save_layout(self._compactor.generation, self._compactor.compacted)
        try:
            self._vocabulary.load()
        except VocabularyDamaged as exc:
            log.warning("%s: search index emptied, to be rebuilt from the store", exc)
            self._empty_directory()
            self._save_layout(self._compactor.generation, self._compactor.compacted)
            self._vocabulary.load()
        try:
            index = tantivy.Index(self._schema, path=str(self._path), reuse=True)
        except ValueError as exc:
            raise StorageError(f"cannot open the search index in {self._path}: {exc}") from exc
        self._index = index
        self._waiting_on_open = self._waiting_ids()

    def _empty_directory(self) -> None:
        entries = list(self._path.iterdir())
        strangers = [e.name for e in entries if not is_index_file(e.name)]
        if strangers:
            raise StorageError(
                f"{self._path} holds files that are not a search index ({strangers[0]}, ...);"
                " give the index a directory of its own"
            )
        for entry in entries:
            entry.unlink()

    def _layout(self, generation: int, compacted: int) -> dict[str, object]:
        return {
            "layout": LAYOUT,
            "key": key_check(self._key),
            "generation": generation,
            "compacted": compacted,
        }

    def _save_layout(self, generation: int, compacted: int) -> None:
        """Record the layout, the key check and the compaction generations (atomically; a
        temporary file of this process's own, as two processes may open the index at once)."""
        marker = self._path / LAYOUT_FILE
        temporary = marker.with_name(f"{LAYOUT_FILE}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
        temporary.write_text(json.dumps(self._layout(generation, compacted)), encoding="utf-8")
        with temporary.open("rb") as file:
            os.fsync(file.fileno())
        os.replace(temporary, marker)

    def _waiting_ids(self) -> list[str]:
        """Ids of documents indexed without their word pairs (a bulk load the last process did
        not complete before it stopped)."""
        assert self._index is not None
        searcher = self._index.searcher()
        marked = searcher.doc_freq(WAITING_FIELD, WAITING_VALUE)  # deleted ones included
        if not marked:
            return []
        query = tantivy.Query.term_query(self._schema, WAITING_FIELD, WAITING_VALUE)
        result = searcher.search(query, limit=marked, count=False)
        return list(message_ids(searcher, [address for _score, address in result.hits]))

    def fill_pairs_from(self, source: DocumentSource) -> None:
        """Let large batches be indexed without their word pairs first and completed in the
        background from ``source`` (without one, every document gets its pairs at once).
        Documents left waiting by an earlier process are completed too."""
        self._source = source
        if self._waiting_on_open:
            self._backfill.wrote(waiting=self._waiting_on_open)
            self._waiting_on_open = []
        if self._compactor.pending:
            log.info("search index: resuming the compaction an earlier process began")
            task = asyncio.get_running_loop().create_task(self._compactor.compact())
            task.add_done_callback(_log_failure)

    @property
    def waiting_for_pairs(self) -> int:
        """Documents still waiting for their word pairs (found marked on open, or indexed in a
        large batch since)."""
        return len(self._backfill) + len(self._waiting_on_open)

    async def complete_pairs(self) -> None:
        """Give every waiting document its word pairs now (otherwise done in the background
        when the index has been idle for a moment): for benchmarks and tests."""
        await self._backfill.finish()

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    def _writer_now(self) -> tantivy.IndexWriter:
        if self._writer is None:
            assert self._index is not None
            try:
                self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
            except ValueError as exc:
                raise IndexLocked(
                    f"the search index in {self._path} is written by another messenger (in this"
                    " process or another); only one may write it"
                ) from exc
            self._vocabulary.refresh()  # (what the writer before this one added)
        return self._writer

    def _document(self, doc: SearchDocument, *, pairs: bool = True) -> tantivy.Document:
        return build_document(doc, self._vocabulary, self._compactor.generation, pairs=pairs)

    # -- writes ------------------------------------------------------------------------------

    def _commit(self) -> None:
        assert self._writer is not None
        assert self._index is not None
        self._vocabulary.flush()  # its words are on disk before the documents holding them
        self._writer.commit()
        self._index.reload()
        self._commits += 1

    def _rollback(self) -> None:
        if self._writer is not None:
            self._writer.rollback()

    async def _change(self, stage: Callable[[tantivy.IndexWriter], None]) -> None:
        """Stage changes on this thread (quick calls: a helper thread would fight this one for
        the GIL on each of them), then commit on the helper thread (long, without the GIL)."""
        async with self._writing:
            await self._apply(stage)

    async def _apply(
        self, stage: Callable[[tantivy.IndexWriter], None], *, on_helper: bool = False
    ) -> None:
        """Stage and commit (the caller holds the write lock); roll back on any failure.
        ``on_helper``: stage on the helper thread too (long Python work per document)."""
        writer = self._writer_now()
        try:
            if on_helper:
                await self._run(self._stage_and_commit, stage, writer)
            else:
                stage(writer)
                await self._run(self._commit)
        except BaseException:
            with contextlib.suppress(Exception):
                await self._run(self._rollback)
            raise

    def _stage_and_commit(
        self, stage: Callable[[tantivy.IndexWriter], None], writer: tantivy.IndexWriter
    ) -> None:
        stage(writer)
        self._commit()

    def _deferred(self, documents: Sequence[SearchDocument], bulk: bool) -> bool:
        """Whether a batch is indexed without word pairs first: part of a bulk stream, large,
        and the documents can be fetched again to complete them."""
        return bulk and self._source is not None and len(documents) > DEFER_ABOVE

    def _wrote(self, documents: Sequence[SearchDocument], deferred: bool) -> None:
        ids = [doc.message_id for doc in documents]
        if deferred:
            self._backfill.wrote(waiting=ids)
        else:
            self._backfill.wrote(done=ids)

    async def upsert(self, documents: Sequence[SearchDocument], /, *, bulk: bool = False) -> None:
        """Add or replace documents, in one commit. With ``bulk``, a large batch is indexed
        without its word pairs first; they are added in the background (see ``pairs.py``)."""
        deferred = self._deferred(documents, bulk)

        def stage(writer: tantivy.IndexWriter) -> None:
            for doc in documents:
                writer.delete_documents_by_term("message_id", doc.message_id)
                writer.add_document(self._document(doc, pairs=not deferred))

        if documents:
            await self._change(stage)
            self._wrote(documents, deferred)

    async def add(self, documents: Sequence[SearchDocument], /, *, bulk: bool = False) -> None:
        """Add documents of messages not indexed yet, in one commit (nothing to replace, so
        cheaper than :meth:`upsert`); ``bulk`` as there."""
        deferred = self._deferred(documents, bulk)

        def stage(writer: tantivy.IndexWriter) -> None:
            for doc in documents:
                writer.add_document(self._document(doc, pairs=not deferred))

        if documents:
            await self._change(stage)
            self._wrote(documents, deferred)

    async def delete(self, message_ids: Sequence[str], /) -> None:
        """Remove documents (absent ids are ignored)."""

        def stage(writer: tantivy.IndexWriter) -> None:
            for message_id in message_ids:
                writer.delete_documents_by_term("message_id", message_id)

        if message_ids:
            async with self._writing:
                self._compactor.deleting()  # (recorded before the deletion commits)
                await self._apply(stage)
            self._backfill.wrote(done=message_ids)

    async def clear(self) -> None:
        """Remove every document and every word (before a rebuild)."""
        async with self._writing:
            await self._apply(lambda writer: writer.delete_all_documents())
            await self._run(self._vocabulary.reset)
        self._backfill.forget()

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None
        self._index = None

    async def aclose(self) -> None:
        """Finish merges, release the writer lock. Documents still waiting for their word pairs
        stay marked and are completed after the next open."""
        await self._compactor.stop()
        await self._backfill.stop()
        self._readers.shutdown(wait=True)  # searches under way end first (milliseconds)
        if self._index is not None:
            await self._run(self._close)
        self._executor.shutdown(wait=True)


def _log_failure(task: asyncio.Task[CompactionReport]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("search index compaction stopped: %s", exc)
