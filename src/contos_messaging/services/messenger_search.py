"""Full-text search and rebuilding the index: the searching part of
:class:`~contos_messaging.AsyncMessenger`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, MessageStatus
from contos_messaging.errors import InvalidInput
from contos_messaging.services import searching
from contos_messaging.services.composing import Progress
from contos_messaging.services.messenger_base import MessengerBase
from contos_messaging.services.searching import SearchPage

__all__ = ["SearchMethods"]


class SearchMethods(MessengerBase):
    """Part of :class:`~contos_messaging.AsyncMessenger`."""

    # -- searching ---------------------------------------------------------------------------

    async def search(
        self,
        query: str,
        *,
        channel: Channel | None = None,
        status: MessageStatus | None = None,
        linked: LinkedEntity | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        created_by: str | None = None,
        order: Literal["relevance", "newest"] = "relevance",
        limit: int = 20,
        offset: int = 0,
    ) -> SearchPage:
        """Full-text search over subjects, bodies, recipients, attachment names and template
        names (not attachment contents). Case and diacritics do not matter, every word must
        match the start of a word (``novák`` finds ``Nováková``), and any input is accepted.
        Filters narrow the hits; an empty query lists newest first. Each hit carries the
        message decrypted from the store and a highlighted snippet (safe HTML)."""
        self._check_open()
        if not isinstance(query, str):
            raise InvalidInput(f"the query must be text, got {type(query).__name__}")
        if not self._index.is_rebuilding:  # (a search during a rebuild does not wait for it)
            await self._index.flush()  # see what was just stored
        return await searching.search(
            self._ports,
            query,
            channel=channel,
            status=status,
            linked=linked,
            since=since,
            until=until,
            created_by=created_by,
            order=order,
            limit=limit,
            offset=offset,
        )

    async def wait_indexed(self) -> None:
        """Wait until every message stored or changed so far is in the search index.

        The index is updated in the background (storing and sending never wait for it);
        :meth:`search` waits by itself, so this is for scripts, benchmarks and tests that look
        at the index directly or want a bulk run fully searchable before they go on."""
        self._check_open()
        await self._index.flush()

    async def reindex(self, *, progress: Progress | None = None) -> int:
        """Rebuild the search index from the store (it is derived data); returns the number of
        messages indexed. ``progress(done, total)`` is called after each batch of 2,000
        (100,000 messages take about 30 s)."""
        self._check_open()
        async with self._index.rebuilding():
            return await searching.reindex(self._ports, progress=progress)
