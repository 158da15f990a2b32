"""In-memory blob store (fake)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from contos_messaging.adapters._shared.text import require_storable
from contos_messaging.domain.integrity import VerifyReport
from contos_messaging.errors import BlobNotFound

__all__ = ["InMemoryBlobStore"]


class InMemoryBlobStore:
    """Keeps content in a dictionary keyed by ``(scope, key)``; writes count how often content
    was actually stored, so tests can see deduplication."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.created: dict[tuple[str, str], datetime] = {}
        self.writes = 0

    async def put(self, scope: str, key: str, data: bytes, /) -> None:
        """Store ``data`` unless the key is already present (then only refresh its age)."""
        require_storable("blobs", scope, key)
        now = datetime.now(UTC)
        if (scope, key) not in self.objects:
            self.objects[(scope, key)] = bytes(data)
            self.writes += 1
        self.created[(scope, key)] = max(now, self.created.get((scope, key), now))

    async def put_many(self, items: Sequence[tuple[str, str, bytes]], /) -> None:
        """Store each object as :meth:`put` does."""
        for scope, key, _data in items:
            require_storable("blobs", scope, key)
        for scope, key, data in items:
            await self.put(scope, key, data)

    async def put_file(self, scope: str, key: str, path: Path, /) -> None:
        """Store a file's content."""
        await self.put(scope, key, path.read_bytes())

    async def read_chunks(self, scope: str, key: str, /) -> AsyncIterator[bytes]:
        """Yield the content in 1 MiB chunks."""
        data = await self.get(scope, key)
        for start in range(0, len(data), 1 << 20):
            yield data[start : start + (1 << 20)]

    async def list_objects(
        self, *, created_before: datetime | None = None
    ) -> list[tuple[str, str]]:
        """Stored objects, optionally only older ones."""
        return [
            k for k, at in self.created.items() if created_before is None or at < created_before
        ]

    async def compact(self) -> int:
        """Nothing to reclaim in memory."""
        return 0

    async def verify(self) -> VerifyReport:
        """Every object counts as checked."""
        return VerifyReport(checked=len(self.objects))

    async def get(self, scope: str, key: str, /) -> bytes:
        """Return the content."""
        require_storable("blobs", scope, key)
        try:
            return self.objects[(scope, key)]
        except KeyError:
            raise BlobNotFound(scope, key) from None

    async def exists(self, scope: str, key: str, /) -> bool:
        """Whether it is stored."""
        require_storable("blobs", scope, key)
        return (scope, key) in self.objects

    async def delete(self, scope: str, key: str, /) -> None:
        """Remove one object."""
        require_storable("blobs", scope, key)
        self.objects.pop((scope, key), None)
        self.created.pop((scope, key), None)

    async def delete_if_older(self, scope: str, key: str, /, *, before: datetime) -> bool:
        """Remove one object only if it was (last) stored before ``before``."""
        require_storable("blobs", scope, key)
        at = self.created.get((scope, key))
        if at is None or at >= before:
            return False
        await self.delete(scope, key)
        return True

    async def delete_scope(self, scope: str, /) -> int:
        """Remove a scope."""
        require_storable("blobs", scope)
        keys = [k for k in self.objects if k[0] == scope]
        for k in keys:
            del self.objects[k]
            del self.created[k]
        return len(keys)

    async def aclose(self) -> None:
        """Nothing to release."""
