"""In-memory blob store (fake)."""

from __future__ import annotations

from contos_messaging.errors import BlobNotFound

__all__ = ["InMemoryBlobStore"]


class InMemoryBlobStore:
    """Keeps content in a dictionary keyed by ``(scope, key)``; writes count how often content
    was actually stored, so tests can see deduplication."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.writes = 0

    async def put(self, scope: str, key: str, data: bytes, /) -> None:
        """Store ``data`` unless the key is already present."""
        if (scope, key) not in self.objects:
            self.objects[(scope, key)] = bytes(data)
            self.writes += 1

    async def get(self, scope: str, key: str, /) -> bytes:
        """Return the content."""
        try:
            return self.objects[(scope, key)]
        except KeyError:
            raise BlobNotFound(scope, key) from None

    async def exists(self, scope: str, key: str, /) -> bool:
        """Whether it is stored."""
        return (scope, key) in self.objects

    async def delete(self, scope: str, key: str, /) -> None:
        """Remove one object."""
        self.objects.pop((scope, key), None)

    async def delete_scope(self, scope: str, /) -> int:
        """Remove a scope."""
        keys = [k for k in self.objects if k[0] == scope]
        for k in keys:
            del self.objects[k]
        return len(keys)

    async def aclose(self) -> None:
        """Nothing to release."""
