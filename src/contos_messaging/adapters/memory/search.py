"""In-memory search index (fake): folded prefix matching, AND semantics, the port's filters."""

from __future__ import annotations

from collections.abc import Sequence

from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.text import search_phrases, search_terms, words
from contos_messaging.ports.search import CompactionReport, SearchDocument, SearchHits

__all__ = ["InMemorySearchIndex"]


def _has_phrase(doc_words: list[str], phrase: list[str]) -> bool:
    size = len(phrase)
    return any(doc_words[i : i + size] == phrase for i in range(len(doc_words) - size + 1))


class InMemorySearchIndex:
    """Holds documents as sets of folded words (never their text).

    Every query word must be the start of some word of the document; relevance is the number of
    word occurrences matched. ``fail_with`` makes every write raise, to test that an index
    failure never blocks storing or sending.
    """

    def __init__(self) -> None:
        self._docs: dict[str, tuple[SearchDocument, list[str]]] = {}
        self.fail_with: Exception | None = None

    async def upsert(self, documents: Sequence[SearchDocument], /, *, bulk: bool = False) -> None:
        """Add or replace documents (``bulk`` changes nothing here)."""
        if self.fail_with is not None:
            raise self.fail_with
        for doc in documents:
            text = " ".join(
                (doc.subject, doc.body, doc.recipients, doc.attachment_names, doc.template_name)
            )
            stripped = SearchDocument(
                message_id=doc.message_id,
                channel=doc.channel,
                status=doc.status,
                created_at=doc.created_at,
                created_by=doc.created_by,
                links=doc.links,
                template_name=doc.template_name,
            )
            self._docs[doc.message_id] = (stripped, words(text))

    async def add(self, documents: Sequence[SearchDocument], /, *, bulk: bool = False) -> None:
        """Add documents of new messages."""
        await self.upsert(documents, bulk=bulk)

    async def delete(self, message_ids: Sequence[str], /) -> None:
        """Remove documents."""
        if self.fail_with is not None:
            raise self.fail_with
        for message_id in message_ids:
            self._docs.pop(message_id, None)

    async def search(self, text: str, query: MessageQuery, /) -> SearchHits:
        """Match, filter, order and page."""
        query = query.for_search()
        terms = search_terms(text)
        phrases = search_phrases(text)
        scored: list[tuple[int, SearchDocument]] = []
        for doc, doc_words in self._docs.values():
            if not query.admits(
                channel=doc.channel, status=doc.status, links=doc.links,
                created_at=doc.created_at, created_by=doc.created_by,
                template=doc.template_name or None,
            ):  # fmt: skip
                continue
            if not all(_has_phrase(doc_words, phrase) for phrase in phrases):
                continue
            score = 0
            for term in terms:
                hits = sum(1 for w in doc_words if w.startswith(term))
                if not hits:
                    break
                score += hits
            else:
                scored.append((score, doc))
        order = query.ordered("relevance")
        if order in ("newest", "oldest") or not terms:
            scored.sort(key=lambda s: (s[1].created_at, s[1].message_id), reverse=order != "oldest")
        else:
            scored.sort(key=lambda s: (s[0], s[1].created_at, s[1].message_id), reverse=True)
        end = query.offset + query.page_size(MessageQuery.SEARCH_PAGE)
        page = scored[query.offset : end]
        return SearchHits(ids=tuple(d.message_id for _, d in page), total=len(scored))

    async def count(self) -> int:
        """Number of documents."""
        return len(self._docs)

    async def ids(self) -> set[str]:
        """Ids of the documents."""
        return set(self._docs)

    async def clear(self) -> None:
        """Remove every document."""
        if self.fail_with is not None:
            raise self.fail_with
        self._docs.clear()

    async def compact(self) -> CompactionReport:
        """Nothing to do: a deleted document is gone from memory at once."""
        return CompactionReport(documents_rewritten=0, words_dropped=0, seconds=0.0)

    async def aclose(self) -> None:
        """Nothing to release."""
