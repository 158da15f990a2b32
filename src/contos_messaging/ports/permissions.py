"""Permission policy port."""

from __future__ import annotations

from typing import Protocol

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.message import Message

__all__ = ["PermissionPolicy"]


class PermissionPolicy(Protocol):
    """**Protocol**: decides whether an actor may do something (to a message).

    .. versionadded:: 0.1
    """

    def check(self, actor: Actor, permission: Permission, message: Message | None = None) -> None:
        """Return if allowed; raise :class:`~contos_messaging.errors.PermissionDenied` if not."""
        ...
