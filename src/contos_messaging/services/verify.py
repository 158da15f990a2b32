"""Verifying the store: every sealed object opened and checked."""

from __future__ import annotations

from contos_messaging.domain.integrity import VerifyReport
from contos_messaging.services.core import Core

__all__ = ["verify"]


async def verify(core: Core) -> VerifyReport:
    """See ``AsyncMessenger.verify``."""
    return await core.ports.repository.verify() + await core.ports.blobs.verify()
