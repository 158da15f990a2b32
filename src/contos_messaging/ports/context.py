"""Ports to the host's records: template variables and contact details of linked entities."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import attrs

from contos_messaging.domain.links import LinkedEntity

__all__ = ["AddressBook", "Contact", "ContextProvider"]


@attrs.frozen
class Contact:
    """How to reach a linked record (usually a client): name, e-mail, mobile number."""

    name: str = ""
    email: str | None = None
    phone: str | None = None


class AddressBook(Protocol):
    """**Protocol**: the host's address book: contact details of a linked record.

    .. versionadded:: 0.1
    """

    async def contact(self, entity: LinkedEntity, /) -> Contact | None:
        """Return the contact of ``entity``, or ``None`` when the host knows none."""
        ...


class ContextProvider(Protocol):
    """**Protocol**: template variables of a linked record (``{{ client.name }}``, ...).

    .. versionadded:: 0.1
    """

    async def variables(self, entity: LinkedEntity, /) -> Mapping[str, object] | None:
        """Return the variables of ``entity`` (published under its kind), or ``None``."""
        ...
