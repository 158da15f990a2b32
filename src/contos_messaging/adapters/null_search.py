"""The search index of a store that has no full-text search configured."""

from __future__ import annotations

from collections.abc import Sequence

from contos_messaging.errors import ConfigurationError
from contos_messaging.ports.search import SearchDocument, SearchHits, SearchQuery

__all__ = ["NoSearchIndex"]


class NoSearchIndex:
    """Keeps nothing; :meth:`search` explains that no index is configured.

    Used by the embedded store until a full-text adapter is wired: writes cost nothing and the
    index, being derived data, can be built later from the store.
    """

    async def upsert(self, documents: Sequence[SearchDocument], /) -> None:
        """Nothing to keep."""

    async def delete(self, message_ids: Sequence[str], /) -> None:
        """Nothing to delete."""

    async def search(self, query: SearchQuery, /) -> SearchHits:
        """Always refuses: there is no index."""
        raise ConfigurationError("no full-text search index is configured for this store")

    async def count(self) -> int:
        """No documents."""
        return 0

    async def aclose(self) -> None:
        """Nothing to release."""
