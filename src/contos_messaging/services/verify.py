"""Verifying the store: every sealed object opened and checked, and every attachment a message
refers to present."""

from __future__ import annotations

from contos_messaging.domain.integrity import IntegrityProblem, VerifyReport
from contos_messaging.services.core import Core

__all__ = ["verify"]


async def verify(core: Core) -> VerifyReport:
    """See ``AsyncMessenger.verify``."""
    ports = core.ports
    report = await ports.repository.verify() + await ports.blobs.verify()
    referenced = sorted(await ports.repository.referenced_blobs())
    missing = [
        IntegrityProblem(f"attachment:{scope}/{key}", "a stored message refers to it; it is gone")
        for scope, key in referenced
        if not await ports.blobs.exists(scope, key)
    ]
    return report + VerifyReport(len(referenced), tuple(missing))
