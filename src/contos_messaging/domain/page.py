"""A page of results."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

import attrs

__all__ = ["Page"]

T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    """One page of a longer list: ``items`` plus the ``total`` count of the whole list.

    ``erased`` counts the entries of this page that belong to an erased client (erased by this
    process or another one after they were listed): they are left out of ``items`` instead of
    failing the page, and still count in ``total``; the next page starts at
    ``offset + len(items) + erased``.

    ``next_after`` (list pages) is the cursor of the next page, for
    ``MessageQuery(after=...)`` (keyset pagination); ``None`` when nothing follows. A keyset
    page's ``offset`` (``keyset`` is true) is its position as the pages before it were read
    (messages added or removed above it since then do not move what it shows).

    .. versionchanged:: 0.4 ``erased``
    .. versionchanged:: 0.5 ``next_after``
    """

    items: tuple[T, ...]
    total: int
    limit: int
    offset: int
    erased: int = attrs.field(default=0, kw_only=True)
    next_after: str | None = attrs.field(default=None, kw_only=True)
    keyset: bool = attrs.field(default=False, kw_only=True)

    @property
    def has_more(self) -> bool:
        """Whether items follow after this page."""
        if self.next_after is not None or self.keyset:
            return self.next_after is not None
        return self.offset + len(self.items) + self.erased < self.total

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)
