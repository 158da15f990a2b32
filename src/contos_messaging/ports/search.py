"""Search index port."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, MessageStatus
from contos_messaging.domain.query import MessageQuery

__all__ = ["CompactionReport", "SearchDocument", "SearchHits", "SearchIndex"]


@attrs.frozen
class SearchDocument:
    """What the index gets of a message: searchable text plus filter fields.

    The index may keep the text only in its inverted form; it must not be able to give it back.
    """

    message_id: str
    channel: Channel
    status: MessageStatus
    created_at: datetime
    created_by: str
    links: tuple[LinkedEntity, ...]
    subject: str = ""
    body: str = ""
    recipients: str = ""
    attachment_names: str = ""
    template_name: str = ""


@attrs.frozen
class SearchHits:
    """Matching message ids for one page, best first, and the total number of matches."""

    ids: tuple[str, ...]
    total: int


@attrs.frozen
class CompactionReport:
    """A finished compaction of the search index: no file of the index holds a document
    deleted before it started (an erased client's words are gone from the disk).

    .. versionadded:: 0.5
    """

    documents_rewritten: int
    """Live documents re-indexed so that the files holding deleted ones could be dropped."""
    words_dropped: int
    """Words no document holds any more, removed from the index's sealed vocabulary."""
    seconds: float
    """How long it took, from its start (or from joining it) to the end."""


class SearchIndex(Protocol):
    """**Protocol**: full-text index over messages. Derived data: rebuildable from the store.

    Text matching folds case and diacritics (``dvorak`` finds ``Dvořák``); a query term matches
    words that start with it.

    .. versionadded:: 0.1
    """

    async def upsert(self, documents: Sequence[SearchDocument], /, *, bulk: bool = False) -> None:
        """Add or replace documents (by message id).

        ``bulk``: the documents come in a stream of many (a bulk run) and throughput matters
        more than having every structure at once: the index may build what only speeds up some
        queries later, in the background, provided results never depend on it.

        .. versionchanged:: 0.2 ``bulk``
        """
        ...

    async def add(self, documents: Sequence[SearchDocument], /, *, bulk: bool = False) -> None:
        """Add documents of messages the index does not hold yet (new messages, a rebuild):
        like :meth:`upsert` without looking for a document to replace; ``bulk`` as there.

        .. versionadded:: 0.2
        """
        ...

    async def delete(self, message_ids: Sequence[str], /) -> None:
        """Remove documents; absent ids are ignored."""
        ...

    async def search(self, text: str, query: MessageQuery, /) -> SearchHits:
        """The ids of one page of documents that match ``text`` and pass ``query``'s filters
        (:meth:`~contos_messaging.MessageQuery.admits`): ``query.page_size(SEARCH_PAGE)`` from
        ``query.offset``, best first (``query.ordered("relevance")``; newest first without
        words to rank by), and the number of all matches. Never raises for odd user text; the
        query comes checked.

        .. versionchanged:: 0.3 takes the text and a :class:`~contos_messaging.MessageQuery`
           instead of ``SearchQuery``
        """
        ...

    async def count(self) -> int:
        """Number of documents."""
        ...

    async def ids(self) -> set[str]:
        """Ids of every indexed message (to find what the index lacks after a crash)."""
        ...

    async def clear(self) -> None:
        """Remove every document (before a rebuild)."""
        ...

    async def compact(self) -> CompactionReport:
        """Rewrite whatever still holds documents deleted so far, until nothing of them is left
        in the index's storage (after an erasure), in the background of searches and writes;
        returns when done. A compaction under way is joined. An index that keeps nothing once
        deleted returns at once.

        .. versionadded:: 0.5
        """
        ...

    async def aclose(self) -> None:
        """Release resources."""
        ...
