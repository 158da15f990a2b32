"""Blob store port: content addressed by (scope, key)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from contos_messaging.domain.integrity import VerifyReport

__all__ = ["BlobStore"]


class BlobStore(Protocol):
    """**Protocol**: stores opaque content by ``scope`` (a client id, ``""`` for no client) and
    ``key``. The default adapter seals it (compressed, encrypted under the scope's key).

    Writing the same key twice in one scope stores it once and refreshes its age, which gc goes
    by (attachments are deduplicated under a keyed digest of their content per scope, never a
    plain one). :meth:`delete_scope` removes everything of a scope.

    .. versionadded:: 0.1
    """

    async def put(self, scope: str, key: str, data: bytes, /) -> None:
        """Store ``data``; durable when the call returns. Same key again: stored once, its age
        refreshed."""
        ...

    async def put_many(self, items: Sequence[tuple[str, str, bytes]], /) -> None:
        """Store several objects ``(scope, key, data)`` as :meth:`put` stores each, durable
        together when the call returns (one write where the store can: a bulk run's
        attachments).

        .. versionadded:: 0.5
        """
        ...

    async def put_file(self, scope: str, key: str, path: Path, /) -> None:
        """Store the content of a file, reading it in chunks (never whole in memory)."""
        ...

    def read_chunks(self, scope: str, key: str, /) -> AsyncIterator[bytes]:
        """Yield the content in chunks, for large objects."""
        ...

    async def list_objects(
        self, *, created_before: datetime | None = None
    ) -> list[tuple[str, str]]:
        """``(scope, key)`` of stored objects, optionally only those older than a time."""
        ...

    async def compact(self) -> int:
        """Reclaim space of deleted objects; return the bytes freed."""
        ...

    async def verify(self) -> VerifyReport:
        """Open every stored object and report the ones that fail."""
        ...

    async def get(self, scope: str, key: str, /) -> bytes:
        """Return the content; :class:`~contos_messaging.errors.BlobNotFound` if absent."""
        ...

    async def exists(self, scope: str, key: str, /) -> bool:
        """Whether the object is stored."""
        ...

    async def delete(self, scope: str, key: str, /) -> None:
        """Remove one object; absent objects are ignored."""
        ...

    async def delete_scope(self, scope: str, /) -> int:
        """Remove every object of ``scope``; return how many were removed."""
        ...

    async def aclose(self) -> None:
        """Release resources."""
        ...
