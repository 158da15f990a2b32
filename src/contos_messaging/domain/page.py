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

    .. versionchanged:: 0.4 ``erased``
    """

    items: tuple[T, ...]
    total: int
    limit: int
    offset: int
    erased: int = attrs.field(default=0, kw_only=True)

    @property
    def has_more(self) -> bool:
        """Whether items follow after this page."""
        return self.offset + len(self.items) + self.erased < self.total

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)
