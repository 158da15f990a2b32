"""Ports to the host's records: template variables and contact details of linked entities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import attrs

from contos_messaging.domain.links import LinkedEntity

__all__ = ["AddressBook", "Contact", "ContactLookup", "ContextProvider", "RecordOwners"]


@attrs.frozen
class Contact:
    """How to reach a linked record (usually a client): name, e-mail, mobile number."""

    name: str = ""
    email: str | None = None
    phone: str | None = None


class AddressBook(Protocol):
    """**Protocol**: the host's address book: contact details of a linked record.

    An address book may also implement :class:`RecordOwners` (whose client an order, contract,
    statement or amendment is: messages linked to the record then reach that client) and
    :class:`ContactLookup` (autocomplete for the detail window); both are optional.

    .. versionadded:: 0.1
    """

    async def contact(self, entity: LinkedEntity, /) -> Contact | None:
        """Return the contact of ``entity``: ``None`` when the host has no such record, a
        :class:`Contact` without ``email`` or ``phone`` when the record has none."""
        ...


@runtime_checkable
class RecordOwners(Protocol):
    """**Protocol**, optional for an :class:`AddressBook`: who a record belongs to.

    .. versionadded:: 0.5
    """

    async def owner(self, entity: LinkedEntity, /) -> LinkedEntity | None:
        """Return the client (or contact person) ``entity`` concerns (the client of an order,
        contract, statement or amendment), or ``None`` (no such record, or it has none)."""
        ...


@runtime_checkable
class ContactLookup(Protocol):
    """**Protocol**, optional for an :class:`AddressBook`: autocomplete ("pick from the
    address book").

    .. versionadded:: 0.5
    """

    async def lookup(self, text: str, /, *, limit: int) -> Sequence[tuple[LinkedEntity, Contact]]:
        """Return at most ``limit`` records whose name, e-mail or phone matches ``text`` (as
        the host sees fit: prefix, diacritics folded), best first, with their contacts."""
        ...


class ContextProvider(Protocol):
    """**Protocol**: template variables of a linked record (``{{ client.name }}``, ...).

    .. versionadded:: 0.1
    """

    async def variables(self, entity: LinkedEntity, /) -> Mapping[str, object] | None:
        """Return the variables of ``entity`` (published under its kind), or ``None``."""
        ...
