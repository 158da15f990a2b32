"""Rotating a client's key: new content is sealed with a new key version, older content stays
readable with the version it was sealed with."""

from __future__ import annotations

import logging

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.services.core import Core

log = logging.getLogger("contos_messaging")

__all__ = [
    "check_may_manage_keys",
    "finish_master_key_rotation",
    "rotate_client_key",
    "rotate_master_key",
]


async def rotate_client_key(core: Core, actor: Actor, client_id: str) -> str:
    """See ``AsyncMessenger.rotate_client_key``."""
    core.ports.permissions.check(actor, Permission.MANAGE_KEYS)
    LinkedEntity.client(client_id)  # validates the id
    return await core.ports.keys.rotate(client_id)


def check_may_manage_keys(core: Core, actor: Actor) -> None:
    """PermissionDenied unless ``actor`` may manage keys."""
    core.ports.permissions.check(actor, Permission.MANAGE_KEYS)


async def rotate_master_key(
    core: Core, actor: Actor, new_key: bytes, *, finish: bool = False
) -> int:
    """See ``AsyncMessenger.rotate_master_key`` (``new_key``: 32 bytes)."""
    core.ports.permissions.check(actor, Permission.MANAGE_KEYS)
    count = await core.ports.keys.rotate_master(new_key, finish=finish)
    log.warning(
        "master key rotated by %s: %d key(s) re-wrapped%s",
        actor.id,
        count,
        "" if finish else "; finish the rotation once every process runs with the new key",
    )
    return count


async def finish_master_key_rotation(core: Core, actor: Actor) -> int:
    """See ``AsyncMessenger.finish_master_key_rotation``."""
    core.ports.permissions.check(actor, Permission.MANAGE_KEYS)
    return await core.ports.keys.finish_master_rotation()
