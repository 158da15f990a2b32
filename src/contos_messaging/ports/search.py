"""Search index port."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol

import attrs

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, MessageStatus

__all__ = ["SearchDocument", "SearchHits", "SearchIndex", "SearchQuery"]


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
class SearchQuery:
    """A search: free text plus filters, ordered by relevance or newest first."""

    text: str = ""
    channel: Channel | None = None
    status: MessageStatus | None = None
    linked: LinkedEntity | None = None
    since: datetime | None = None
    until: datetime | None = None
    created_by: str | None = None
    order: Literal["relevance", "newest"] = "relevance"
    limit: int = 20
    offset: int = 0


@attrs.frozen
class SearchHits:
    """Matching message ids for one page, best first, and the total number of matches."""

    ids: tuple[str, ...]
    total: int


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

    async def search(self, query: SearchQuery, /) -> SearchHits:
        """Run a query; never raises for odd user text."""
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

    async def aclose(self) -> None:
        """Release resources."""
        ...
