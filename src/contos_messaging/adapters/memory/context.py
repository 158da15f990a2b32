"""In-memory address book and context provider (fakes a host can fill in its tests)."""

from __future__ import annotations

from collections.abc import Mapping

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.ports.context import Contact

__all__ = ["InMemoryAddressBook", "InMemoryContextProvider"]


class InMemoryAddressBook:
    """Contacts by linked entity: ``book.add(LinkedEntity.client("C-1"), Contact(...))``."""

    def __init__(self, contacts: Mapping[LinkedEntity, Contact] | None = None) -> None:
        self.contacts: dict[LinkedEntity, Contact] = dict(contacts or {})

    def add(self, entity: LinkedEntity, contact: Contact) -> None:
        """Add or replace a contact."""
        self.contacts[entity] = contact

    async def contact(self, entity: LinkedEntity, /) -> Contact | None:
        """The contact of ``entity`` or ``None``."""
        return self.contacts.get(entity)


class InMemoryContextProvider:
    """Template variables by linked entity."""

    def __init__(self, records: Mapping[LinkedEntity, Mapping[str, object]] | None = None) -> None:
        self.records: dict[LinkedEntity, Mapping[str, object]] = dict(records or {})

    def add(self, entity: LinkedEntity, variables: Mapping[str, object]) -> None:
        """Add or replace the variables of a record."""
        self.records[entity] = variables

    async def variables(self, entity: LinkedEntity, /) -> Mapping[str, object] | None:
        """The variables of ``entity`` or ``None``."""
        return self.records.get(entity)
