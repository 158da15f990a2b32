"""Blob store port: content addressed by (scope, key)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["BlobStore"]


class BlobStore(Protocol):
    """**Protocol**: stores opaque content by ``scope`` (a client id, ``""`` for no client) and
    ``key``. The default adapter seals it (compressed, encrypted under the scope's key).

    Writing the same key twice in one scope stores it once (attachments are deduplicated by
    content hash). :meth:`delete_scope` removes everything of a scope.

    .. versionadded:: 0.1
    """

    async def put(self, scope: str, key: str, data: bytes, /) -> None:
        """Store ``data``; durable when the call returns. Same key again: a no-op."""
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
