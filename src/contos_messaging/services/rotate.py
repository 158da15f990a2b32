"""Rotating a client's key: new content is sealed with a new key version, older content stays
readable with the version it was sealed with."""

from __future__ import annotations

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.services.core import Core

__all__ = ["rotate_client_key"]


async def rotate_client_key(core: Core, actor: Actor, client_id: str) -> str:
    """See ``AsyncMessenger.rotate_client_key``."""
    core.ports.permissions.check(actor, Permission.MANAGE_KEYS)
    LinkedEntity.client(client_id)  # validates the id
    return await core.ports.keys.rotate(client_id)
