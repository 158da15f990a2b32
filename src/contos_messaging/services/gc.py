"""Clean-up: stored attachments that no message refers to (left by an interrupted compose).

gc reads the references, then lists the objects older than the grace, then deletes the orphans.
A compose that stores an attachment again (deduplicated) refreshes its age, so one stored again
before the listing is not a candidate; one stored again after it is kept by the conditional
delete of stores that offer it (:class:`AgedDelete`: the check and the delete in one
transaction). Stores without it are deleted from unconditionally.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from contos_messaging.services.core import Core

__all__ = ["AgedDelete", "GcReport", "gc"]


@attrs.frozen
class GcReport:
    """What :meth:`AsyncMessenger.gc` removed."""

    removed_objects: int
    freed_bytes: int


@runtime_checkable
class AgedDelete(Protocol):
    """**Protocol**: a blob store that deletes an object only if it was not stored again
    since a time (both bundled adapters offer it).

    .. versionadded:: 0.3
    """

    async def delete_if_older(self, scope: str, key: str, /, *, before: datetime) -> bool:
        """Delete ``(scope, key)`` if it was (last) stored before ``before``; whether it was."""
        ...


async def gc(core: Core, *, grace: timedelta) -> GcReport:
    """See ``AsyncMessenger.gc``."""
    ports = core.ports
    referenced = await ports.repository.referenced_blobs()
    # Age is wall-clock time: the grace protects composes running right now.
    cutoff = datetime.now(UTC) - grace
    candidates = await ports.blobs.list_objects(created_before=cutoff)
    orphans = [obj for obj in candidates if obj not in referenced]
    blobs = ports.blobs
    removed = 0
    for scope, key in orphans:
        if isinstance(blobs, AgedDelete):
            removed += await blobs.delete_if_older(scope, key, before=cutoff)
        else:
            await blobs.delete(scope, key)
            removed += 1
    return GcReport(removed_objects=removed, freed_bytes=await ports.blobs.compact())
