"""Who does something, and what they may do."""

from __future__ import annotations

import enum

import attrs

from contos_messaging.errors import InvalidInput

__all__ = ["Actor", "Permission"]


class Permission(enum.StrEnum):
    """What an actor may do."""

    COMPOSE = "compose"
    """Create messages (by hand, from templates, in bulk)."""
    SEND = "send"
    """Send messages, now or by scheduling them."""
    RESEND = "resend"
    """Send again a message that was already sent."""
    EDIT = "edit"
    """Edit one's own messages while they are not sent."""
    EDIT_OTHERS = "edit_others"
    """Edit messages created by someone else."""
    CANCEL = "cancel"
    """Cancel messages that are not sent yet."""
    MANAGE_TEMPLATES = "manage_templates"
    """Save and retire templates."""
    ERASE = "erase"
    """Erase all communication of a client (crypto-shredding)."""
    MANAGE_KEYS = "manage_keys"
    """Rotate encryption keys."""


def _to_permissions(value: object) -> frozenset[Permission]:
    if isinstance(value, str | Permission):
        raise InvalidInput("permissions must be a collection of Permission values, not a string")
    try:
        return frozenset(Permission(p) for p in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"invalid permissions {value!r}: {exc}") from exc


def _check_actor_id(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidInput(
            f"actor id must be a non-empty string of at most 200 characters: {value!r}"
        )


@attrs.frozen
class Actor:
    """A user (or the host itself) acting through the library.

    ``Actor("u-42", permissions={Permission.COMPOSE, Permission.SEND})``; trusted host code uses
    :meth:`system`, which may do everything.
    """

    id: str = attrs.field(validator=_check_actor_id)
    permissions: frozenset[Permission] = attrs.field(default=frozenset(), converter=_to_permissions)

    @classmethod
    def system(cls) -> Actor:
        """The host application itself: holds every permission."""
        return cls("system", permissions=frozenset(Permission))

    def can(self, permission: Permission) -> bool:
        """Return whether the actor holds ``permission``."""
        return permission in self.permissions
