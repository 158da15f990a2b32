"""Messages from templates: one at a time, or in bulk (render, seal, store in batches)."""

from __future__ import annotations

import asyncio
import collections
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.addresses import AddressInput, EmailAddress, EmailRecipients
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, TemplateRef
from contos_messaging.domain.phones import SmsRecipients, parse_phone_list
from contos_messaging.domain.template import Template
from contos_messaging.errors import InvalidInput, InvalidMessage, MessagingError
from contos_messaging.ports import Contact, RenderedParts
from contos_messaging.services.settings import MessengerSettings, Ports
from contos_messaging.services.templating import (
    AsyncTemplates,
    BulkFailure,
    BulkReport,
    BulkTarget,
    ContextBuilder,
    as_links,
)

__all__ = ["Progress", "TemplateComposer"]

Progress = Callable[[int, int], Awaitable[None] | None]
"""``progress(done, total)``, called after each stored batch; may be a coroutine function."""

AHEAD = 2
"""Batches rendered ahead of the one being stored."""


def _as_target(value: BulkTarget | LinkedEntity | Iterable[LinkedEntity]) -> BulkTarget:
    if isinstance(value, BulkTarget):
        return value
    return BulkTarget(links=as_links(value))


class TemplateComposer:
    """Composes messages from templates for :class:`AsyncMessenger`."""

    def __init__(
        self, ports: Ports, settings: MessengerSettings, templates: AsyncTemplates
    ) -> None:
        self._ports = ports
        self._settings = settings
        self._templates = templates

    async def recipient(
        self, channel: Channel, links: Sequence[LinkedEntity], to: AddressInput | None
    ) -> tuple[Any, Contact | None]:
        """``to`` (or, without it, the linked client's e-mail address or phone number from the
        address book) and the client's contact; :class:`InvalidMessage` when there is none."""
        client = next((link for link in links if link.kind == "client"), None)
        contact = await self._ports.address_book.contact(client) if client else None
        if to is not None:
            return to, contact
        if client is None:
            raise InvalidMessage("to", "no recipient given and no client linked to take one from")
        if channel is Channel.EMAIL:
            if contact is None or not contact.email:
                raise InvalidMessage(
                    "to",
                    f"no recipient given and {client} has no e-mail address in the address book",
                )
            address = EmailAddress(contact.email, contact.name)
            return address, contact
        if contact is None or not contact.phone:
            raise InvalidMessage(
                "to", f"no recipient given and {client} has no phone number in the address book"
            )
        return contact.phone, contact

    def _message(
        self,
        actor: Actor,
        template: Template,
        rendered: RenderedParts,
        links: tuple[LinkedEntity, ...],
        to: Any,
        created_at: datetime,
        scheduled_at: datetime | None,
        expires_at: datetime | None,
    ) -> Message:
        ref = TemplateRef(template.name, template.version)
        if template.channel is Channel.EMAIL:
            return Message.email(
                sender=self._settings.company_sender,
                recipients=EmailRecipients.parse(to),
                subject=rendered.subject,
                html=rendered.html,
                text=rendered.text,
                links=links,
                created_by=actor.id,
                created_at=created_at,
                template=ref,
                scheduled_at=scheduled_at,
                expires_at=expires_at,
            )
        return Message.sms(
            sender=self._settings.sms_sender,
            recipients=SmsRecipients(parse_phone_list(to, region=self._settings.default_region)),
            text=rendered.text or "",
            links=links,
            created_by=actor.id,
            created_at=created_at,
            message_id_domain=self._settings.message_id_domain,
            template=ref,
            scheduled_at=scheduled_at,
            expires_at=expires_at,
        )

    async def compose(
        self,
        actor: Actor,
        template_name: str,
        *,
        links: Iterable[LinkedEntity] | LinkedEntity,
        to: AddressInput | None,
        variables: Mapping[str, Any] | None,
        language: str | None,
        scheduled_at: datetime | None,
        expires_at: datetime | None,
    ) -> Message:
        """Render one message (not stored: the caller stores it)."""
        self._ports.permissions.check(actor, Permission.COMPOSE)
        link_tuple = as_links(links)
        template = await self._templates.get(template_name, language=language)
        recipient, contact = await self.recipient(template.channel, link_tuple, to)
        context = await ContextBuilder(self._ports, self._settings).build(
            link_tuple, variables, contact
        )
        (result,) = await self._ports.renderer.render(template, [context])
        if isinstance(result, MessagingError):
            raise result
        return self._message(
            actor,
            template,
            result,
            link_tuple,
            recipient,
            self._ports.clock.now(),
            scheduled_at,
            expires_at,
        )

    async def bulk(
        self,
        actor: Actor,
        template_name: str,
        targets: Iterable[BulkTarget | LinkedEntity | Iterable[LinkedEntity]],
        *,
        scheduled_at: datetime | None,
        progress: Progress | None,
        language: str | None,
        batch_size: int,
        store: Callable[[list[Message], list[str | None]], Awaitable[dict[str, str]]],
    ) -> BulkReport:
        """Render one message per target and store them QUEUED, batch by batch. The next batch
        renders (in the render workers) while the previous one is sealed and stored."""
        self._ports.permissions.check(actor, Permission.COMPOSE)
        if batch_size < 1:
            raise InvalidInput("batch_size must be at least 1")
        template = await self._templates.get(template_name, language=language)
        items = [_as_target(t) for t in targets]
        total = len(items)
        created: list[str] = []
        failures: list[BulkFailure] = []
        builder = ContextBuilder(self._ports, self._settings)
        now = self._ports.clock.now()
        when = scheduled_at or now

        async def prepare(start: int) -> list[tuple[int, BulkTarget, Any, Any]]:
            ready: list[tuple[int, BulkTarget, dict[str, Any], Any]] = []
            for index in range(start, min(total, start + batch_size)):
                target = items[index]
                try:
                    recipient, contact = await self.recipient(
                        template.channel, target.links, target.to
                    )
                    context = await builder.build(target.links, target.variables, contact)
                except MessagingError as exc:
                    failures.append(BulkFailure(index, target, exc))
                    continue
                ready.append((index, target, context, recipient))
            results = await self._ports.renderer.render(template, [r[2] for r in ready])
            return [
                (i, t, rendered, rcpt)
                for (i, t, _c, rcpt), rendered in zip(ready, results, strict=True)
            ]

        # Up to AHEAD batches are being rendered (in the render workers) while this one is
        # built and stored, so neither the workers nor this thread wait for each other.
        starts = list(range(0, total, batch_size))
        pending: collections.deque[asyncio.Future[list[tuple[int, BulkTarget, Any, Any]]]]
        pending = collections.deque()
        for start in starts[:AHEAD]:
            pending.append(asyncio.ensure_future(prepare(start)))
            await asyncio.sleep(0)  # let it build its contexts and hand them over now
        for position, start in enumerate(starts):
            batch = await pending.popleft()
            following = start + batch_size
            if position + AHEAD < len(starts):
                pending.append(asyncio.ensure_future(prepare(starts[position + AHEAD])))
                await asyncio.sleep(0)
            messages: list[Message] = []
            keys: list[str | None] = []
            for index, target, rendered, recipient in batch:
                if isinstance(rendered, MessagingError):
                    failures.append(BulkFailure(index, target, rendered))
                    continue
                try:
                    messages.append(
                        self._message(
                            actor, template, rendered, target.links, recipient, now, when, None
                        )
                    )
                    keys.append(target.idempotency_key)
                except MessagingError as exc:
                    failures.append(BulkFailure(index, target, exc))
            if messages:
                taken = await store(messages, keys)
                created.extend(taken.get(m.id, m.id) for m in messages)
            if progress is not None:
                outcome = progress(min(following, total), total)
                if inspect.isawaitable(outcome):
                    await outcome
        failures.sort(key=lambda f: f.index)
        return BulkReport(tuple(created), tuple(failures), total)
