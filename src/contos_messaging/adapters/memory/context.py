"""In-memory address book and context provider (fakes a host can fill in its tests)."""

from __future__ import annotations

from collections.abc import Mapping

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.text import fold
from contos_messaging.ports.context import Contact

__all__ = ["InMemoryAddressBook", "InMemoryContextProvider"]


class InMemoryAddressBook:
    """Contacts by linked entity: ``book.add(LinkedEntity.client("C-1"), Contact(...))``, and
    who each record belongs to: ``book.own(LinkedEntity.order("O-7"), client)``. Implements
    :class:`~contos_messaging.ports.RecordOwners` and
    :class:`~contos_messaging.ports.ContactLookup`."""

    def __init__(
        self,
        contacts: Mapping[LinkedEntity, Contact] | None = None,
        owners: Mapping[LinkedEntity, LinkedEntity] | None = None,
    ) -> None:
        self.contacts: dict[LinkedEntity, Contact] = dict(contacts or {})
        self.owners: dict[LinkedEntity, LinkedEntity] = dict(owners or {})

    def add(self, entity: LinkedEntity, contact: Contact) -> None:
        """Add or replace a contact."""
        self.contacts[entity] = contact

    def own(self, record: LinkedEntity, owner: LinkedEntity) -> None:
        """Say whose ``record`` is (an order's client)."""
        self.owners[record] = owner

    async def contact(self, entity: LinkedEntity, /) -> Contact | None:
        """The contact of ``entity`` or ``None``."""
        return self.contacts.get(entity)

    async def owner(self, entity: LinkedEntity, /) -> LinkedEntity | None:
        """Whose ``entity`` is, or ``None``."""
        return self.owners.get(entity)

    async def lookup(self, text: str, /, *, limit: int) -> list[tuple[LinkedEntity, Contact]]:
        """Contacts whose name (any word), e-mail or phone starts with ``text``, case and
        diacritics ignored; names first, then by name."""
        wanted = fold(text.strip())
        if not wanted:
            return []
        found = []
        for entity, contact in self.contacts.items():
            name = fold(contact.name)
            by_name = name.startswith(wanted) or any(w.startswith(wanted) for w in name.split())
            values = [fold(v) for v in (contact.email, contact.phone) if v]
            other = any(value.startswith(wanted) for value in values)
            if by_name or other:
                found.append((0 if by_name else 1, name, entity, contact))
        found.sort(key=lambda item: (item[0], item[1], str(item[2])))
        return [(entity, contact) for _rank, _name, entity, contact in found[:limit]]


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
