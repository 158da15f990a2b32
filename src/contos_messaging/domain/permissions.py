"""The default permission policy, a pure rule of the domain: the actor's own permissions decide."""

from __future__ import annotations

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.message import Message
from contos_messaging.errors import PermissionDenied

__all__ = ["ActorPermissionPolicy"]


class ActorPermissionPolicy:
    """Allows what :attr:`Actor.permissions` lists.

    Editing or cancelling someone else's message also needs :attr:`Permission.EDIT_OTHERS`.
    """

    def check(self, actor: Actor, permission: Permission, message: Message | None = None) -> None:
        """Raise :class:`PermissionDenied` unless ``actor`` may do ``permission``."""
        message_id = message.id if message is not None else None
        if not actor.can(permission):
            raise PermissionDenied(actor.id, permission.value, message_id)
        if (
            permission in (Permission.EDIT, Permission.CANCEL)
            and message is not None
            and message.created_by != actor.id
            and not actor.can(Permission.EDIT_OTHERS)
        ):
            raise PermissionDenied(actor.id, Permission.EDIT_OTHERS.value, message_id)
