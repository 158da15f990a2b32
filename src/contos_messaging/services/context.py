"""Template variables of linked records, and links given in any accepted form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.errors import InvalidMessage
from contos_messaging.ports import Contact
from contos_messaging.services.settings import MessengerSettings, Ports

__all__ = ["ContextBuilder", "as_links"]


def as_links(links: Iterable[LinkedEntity] | LinkedEntity) -> tuple[LinkedEntity, ...]:
    """Links given as one entity or an iterable of them."""
    if isinstance(links, LinkedEntity):
        return (links,)
    if isinstance(links, str | bytes):
        raise InvalidMessage("links", "pass LinkedEntity values, e.g. LinkedEntity.client('C-1')")
    out = tuple(links)
    for link in out:
        if not isinstance(link, LinkedEntity):
            raise InvalidMessage("links", f"{link!r} is not a LinkedEntity")
    return out


class ContextBuilder:
    """Assembles template variables: each linked record under its kind (``client``,
    ``order``, ...), ``links``, ``company``, ``recipient``, then the explicit variables, which
    win. Record variables are fetched once per record and call."""

    def __init__(self, ports: Ports, settings: MessengerSettings) -> None:
        self._ports = ports
        self._settings = settings
        self._cache: dict[LinkedEntity, Mapping[str, object] | None] = {}

    async def record(self, entity: LinkedEntity) -> Mapping[str, object] | None:
        """The variables of one record (cached)."""
        if entity not in self._cache:
            self._cache[entity] = await self._ports.context.variables(entity)
        return self._cache[entity]

    async def build(
        self,
        links: Sequence[LinkedEntity],
        explicit: Mapping[str, Any] | None,
        recipient: Contact | None = None,
    ) -> dict[str, Any]:
        """The variables of one message."""
        sender = self._settings.company_sender
        context: dict[str, Any] = {
            "company": {"name": sender.display_name, "email": sender.addr_spec},
            "links": [{"kind": link.kind, "id": link.id} for link in links],
        }
        for link in links:
            if link.kind in context:
                continue  # the first record of each kind is the one the template sees
            values = await self.record(link)
            context[link.kind] = {"id": link.id, **(values or {})}
        if recipient is not None:
            context["recipient"] = {
                "name": recipient.name,
                "email": recipient.email,
                "phone": recipient.phone,
            }
        context.update(explicit or {})
        return context
