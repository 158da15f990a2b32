"""Clean-up: stored attachments that no message refers to (left by an interrupted compose)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from contos_messaging.services.core import Core

__all__ = ["GcReport", "gc"]


@attrs.frozen
class GcReport:
    """What :meth:`AsyncMessenger.gc` removed."""

    removed_objects: int
    freed_bytes: int


async def gc(core: Core, *, grace: timedelta) -> GcReport:
    """See ``AsyncMessenger.gc``."""
    ports = core.ports
    referenced = await ports.repository.referenced_blobs()
    # Age is wall-clock time: the grace protects composes running right now.
    candidates = await ports.blobs.list_objects(created_before=datetime.now(UTC) - grace)
    orphans = [obj for obj in candidates if obj not in referenced]
    for scope, key in orphans:
        await ports.blobs.delete(scope, key)
    return GcReport(removed_objects=len(orphans), freed_bytes=await ports.blobs.compact())
