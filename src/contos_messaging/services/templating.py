"""Templates: the versioned store, previews, and the variables of linked records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.addresses import AddressInput
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel
from contos_messaging.domain.template import Template
from contos_messaging.errors import InvalidMessage, MessagingError, TemplateNotFound
from contos_messaging.ports import Contact, RenderedParts
from contos_messaging.services.settings import MessengerSettings, Ports

__all__ = [
    "AsyncTemplates",
    "BulkFailure",
    "BulkReport",
    "BulkTarget",
    "ContextBuilder",
    "as_links",
]


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


@attrs.frozen
class BulkTarget:
    """One message of a bulk run: the records it concerns, optionally its recipient and its own
    variables (which win over the records' variables)."""

    links: tuple[LinkedEntity, ...] = attrs.field(converter=as_links)
    to: AddressInput | None = None
    variables: Mapping[str, Any] | None = None
    idempotency_key: str | None = None
    """A key of the host's choosing: a bulk run retried with the same keys stores no second
    message for a target whose key is stored already (its id is reported as created)."""


@attrs.frozen
class BulkFailure:
    """A target that produced no message, and why."""

    index: int
    target: BulkTarget
    error: MessagingError

    @property
    def reason(self) -> str:
        """The error as text."""
        return str(self.error)


@attrs.frozen
class BulkReport:
    """What :meth:`generate_bulk` stored (ids, in target order) and which targets failed."""

    created: tuple[str, ...]
    failures: tuple[BulkFailure, ...]
    total: int


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


class AsyncTemplates:
    """``messenger.templates``: save (a new version each time), get, list, retire, variables,
    preview."""

    def __init__(self, ports: Ports, settings: MessengerSettings) -> None:
        self._ports = ports
        self._settings = settings

    async def save(
        self,
        actor: Actor,
        name: str,
        *,
        channel: Channel = Channel.EMAIL,
        subject: str = "",
        html: str | None = None,
        text: str | None = None,
        language: str | None = None,
    ) -> Template:
        """Check the syntax and store a new version; returns it (with ``version`` and the
        ``variables`` it uses). A syntax error raises :class:`TemplateError` naming the part
        and line, and nothing is stored."""
        self._ports.permissions.check(actor, Permission.MANAGE_TEMPLATES)
        template = Template(
            name=name,
            channel=channel,
            language=language or self._settings.default_language,
            subject=subject,
            html=html,
            text=text,
            created_by=actor.id,
            created_at=self._ports.clock.now(),
        )
        variables = self._ports.renderer.check(template)
        return await self._ports.templates.save_template(
            attrs.evolve(template, variables=variables)
        )

    async def get(
        self, name: str, *, version: int | None = None, language: str | None = None
    ) -> Template:
        """The latest version (or ``version``) in ``language``, falling back to the default
        language when the template has no such variant."""
        wanted = language or self._settings.default_language
        try:
            return await self._ports.templates.get_template(name, language=wanted, version=version)
        except TemplateNotFound:
            if wanted == self._settings.default_language:
                raise
        return await self._ports.templates.get_template(
            name, language=self._settings.default_language, version=version
        )

    async def list(self) -> list[Template]:
        """The latest version of every template and language that is not retired."""
        return await self._ports.templates.list_templates()

    async def retire(self, actor: Actor, name: str) -> int:
        """Retire a template (all languages); its versions stay readable by number."""
        self._ports.permissions.check(actor, Permission.MANAGE_TEMPLATES)
        count = await self._ports.templates.retire_template(name)
        if not count:
            raise TemplateNotFound(name)
        return count

    async def variables(self, name: str, *, language: str | None = None) -> frozenset[str]:
        """The top-level variables the template uses (``client``, ``order``, ...)."""
        return (await self.get(name, language=language)).variables

    async def preview(
        self,
        name: str,
        variables: Mapping[str, Any] | None = None,
        *,
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        language: str | None = None,
        version: int | None = None,
    ) -> RenderedParts:
        """Render without storing anything: linked records' variables plus ``variables``."""
        template = await self.get(name, version=version, language=language)
        context = await ContextBuilder(self._ports, self._settings).build(
            as_links(links), variables
        )
        (result,) = await self._ports.renderer.render(template, [context])
        if isinstance(result, MessagingError):
            raise result
        return result
