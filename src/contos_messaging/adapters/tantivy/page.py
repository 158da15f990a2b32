"""One page of hits for a built query: the ids shown and the number of all matches.

Tantivy keeps offset + limit hits in memory while it collects a page (``offset=10**10`` made
it reserve 160 GB and abort the process), so a page past the first few is asked for only
after counting the matches, and never for more hits than there are.
"""

from __future__ import annotations

import tantivy

from contos_messaging.adapters.tantivy.query import BuiltQuery
from contos_messaging.adapters.tantivy.schema import message_ids
from contos_messaging.domain.query import MessageQuery
from contos_messaging.ports.search import SearchHits

__all__ = ["COUNT_FIRST_ABOVE", "collect"]

# A page reaching further than this into the matches is asked for only after counting them.
COUNT_FIRST_ABOVE = 10_000


def _matches(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    """The number of documents matching ``query`` (ordered by a field: nothing is scored)."""
    result = searcher.search(query, limit=1, count=True, order_by_field="created_at")
    return int(getattr(result, "count", 0) or 0)


def collect(searcher: tantivy.Searcher, built: BuiltQuery, query: MessageQuery) -> SearchHits:
    """The page of ``query`` (its offset and limit, best or newest first) of ``built``."""
    limit, offset = query.page_size(MessageQuery.SEARCH_PAGE), query.offset
    if offset + limit > COUNT_FIRST_ABOVE:
        total = _matches(searcher, built.query)
        if offset >= total:
            return SearchHits(ids=(), total=total)
        limit = min(limit, total - offset)
    order = query.ordered("relevance")
    if order in ("newest", "oldest") or not built.ranked:
        result = searcher.search(
            built.query,
            limit=limit,
            offset=offset,
            count=True,
            order_by_field="created_at",
            order=tantivy.Order.Asc if order == "oldest" else tantivy.Order.Desc,
        )
    else:
        result = searcher.search(built.query, limit=limit, offset=offset, count=True)
    ids = message_ids(searcher, [address for _score, address in result.hits])
    count = getattr(result, "count", None)  # the count of all matches (count=True)
    return SearchHits(ids=ids, total=int(count if count is not None else len(ids)))
