"""Erasure, key rotation, verification and clean-up: the administrative part of
:class:`~contos_messaging.AsyncMessenger`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.ids import uuid7
from contos_messaging.domain.integrity import VerifyReport
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.send_log import AuditAction, AuditEvent
from contos_messaging.errors import InvalidInput
from contos_messaging.services.messenger_base import MessengerBase

__all__ = ["AdminMethods", "GcReport"]


@attrs.frozen
class GcReport:
    """What :meth:`AsyncMessenger.gc` removed."""

    removed_objects: int
    freed_bytes: int


class AdminMethods(MessengerBase):
    """Part of :class:`~contos_messaging.AsyncMessenger`."""

    # -- administration ----------------------------------------------------------------------

    async def erase_client(self, actor: Actor, client_id: str) -> tuple[str, ...]:
        """Erase all communication sealed under a client's key (crypto-shredding).

        The client's keys are destroyed first, so its content can never be opened again even if
        the call is interrupted (calling it again finishes the job); then its messages, links,
        blind-index rows, send log, attachments and search documents are deleted and a
        tombstone is written to the audit log. Returns the erased message ids.
        """
        self._check_open()
        self._ports.permissions.check(actor, Permission.ERASE)
        if not isinstance(client_id, str) or not client_id:
            raise InvalidInput(f"client_id must be a non-empty string, got {client_id!r}")
        LinkedEntity.client(client_id)  # validates the id
        p = self._ports
        await p.keys.destroy(client_id)
        now = p.clock.now()
        pending = AuditEvent(
            id=uuid7(now),
            at=now,
            actor_id=actor.id,
            action=AuditAction.ERASED,
            subject=f"client:{client_id}",
            details={"client": client_id},
        )
        erased = await p.repository.erase_scope(client_id, tombstone=pending)
        await p.blobs.delete_scope(client_id)
        await self._index.delete(erased)
        return tuple(erased)

    async def rotate_client_key(self, actor: Actor, client_id: str) -> str:
        """Start a new key version for a client: new content uses it, old content stays
        readable with the older version. Returns the new key id."""
        self._check_open()
        self._ports.permissions.check(actor, Permission.MANAGE_KEYS)
        LinkedEntity.client(client_id)
        return await self._ports.keys.rotate(client_id)

    async def verify(self) -> VerifyReport:
        """Open every stored object (messages, send log, attachments) and report each one that
        fails its integrity check; the others are unaffected."""
        self._check_open()
        return await self._ports.repository.verify() + await self._ports.blobs.verify()

    async def gc(self, *, grace: timedelta = timedelta(hours=1)) -> GcReport:
        """Remove stored attachments no message refers to (left by an interrupted compose)
        once they are older than ``grace``, then reclaim their space."""
        self._check_open()
        p = self._ports
        referenced = await p.repository.referenced_blobs()
        # Age is wall-clock time: the grace protects composes running right now.
        candidates = await p.blobs.list_objects(created_before=datetime.now(UTC) - grace)
        orphans = [obj for obj in candidates if obj not in referenced]
        for scope, key in orphans:
            await p.blobs.delete(scope, key)
        return GcReport(removed_objects=len(orphans), freed_bytes=await p.blobs.compact())
