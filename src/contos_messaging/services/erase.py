"""Erasing a client (crypto-shredding): its keys destroyed first, then its messages, links,
send log, attachments and search documents deleted, and a tombstone in the audit log; then the
search index is compacted in the background."""

from __future__ import annotations

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.send_log import AuditAction, AuditEvent
from contos_messaging.errors import InvalidInput
from contos_messaging.services.core import Core

__all__ = ["erase_client"]


async def erase_client(core: Core, actor: Actor, client_id: str) -> tuple[str, ...]:
    """See ``AsyncMessenger.erase_client``."""
    ports = core.ports
    ports.permissions.check(actor, Permission.ERASE)
    if not isinstance(client_id, str) or not client_id:
        raise InvalidInput(f"client_id must be a non-empty string, got {client_id!r}")
    LinkedEntity.client(client_id)  # validates the id
    core.erasures.erasing(client_id)
    await ports.keys.destroy(client_id)
    tombstone = AuditEvent.record(
        actor.id, AuditAction.ERASED, f"client:{client_id}", at=ports.clock.now(),
        client=client_id,
    )  # fmt: skip
    erased = await ports.repository.erase_scope(client_id, tombstone=tombstone)
    await ports.blobs.delete_scope(client_id)
    await core.index.delete(erased)
    if erased:
        core.index.compact_soon()  # until no index file holds the deleted documents
    return tuple(erased)
