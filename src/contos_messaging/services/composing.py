"""Rendering a message from a template, and finding its recipient in the address book: what
composing from a template and bulk generation share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from contos_messaging.domain.actor import Actor
from contos_messaging.domain.addresses import AddressInput, EmailAddress, EmailRecipients
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, TemplateRef
from contos_messaging.domain.mime_size import encoded_size
from contos_messaging.domain.phones import SmsRecipients, parse_phone_list
from contos_messaging.domain.template import Template
from contos_messaging.errors import InvalidMessage, LimitExceeded
from contos_messaging.ports import Contact, RenderedParts
from contos_messaging.services.settings import MessengerSettings, Ports

__all__ = ["Progress", "TemplateComposer"]

Progress = Callable[[int, int], Awaitable[None] | None]
"""``progress(done, total)``, called after each stored batch; may be a coroutine function."""


class TemplateComposer:
    """Renders messages from templates (not stored: the use cases store them)."""

    def __init__(self, ports: Ports, settings: MessengerSettings) -> None:
        self._ports = ports
        self._settings = settings

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

    def check(self, message: Message) -> Message:
        """``message`` if it is within the messenger's :class:`~contos_messaging.Limits` and,
        for an e-mail, within the e-mail transport's configured size on the wire (attachments
        counted as base64); :class:`~contos_messaging.LimitExceeded` otherwise."""
        self._settings.limits.check_message(message)
        transport = self._ports.email_transport
        # A host transport written before 0.3 may lack the property: it is checked at send.
        limit = getattr(transport, "max_message_size", None)
        if message.channel is Channel.EMAIL and limit is not None:
            size = encoded_size(message)
            if size > limit:
                raise LimitExceeded(
                    "the e-mail with its attachments", size, limit,
                    "max_message_size of the e-mail transport", "bytes",
                )  # fmt: skip
        return message

    def build(
        self,
        actor: Actor,
        template: Template,
        rendered: RenderedParts,
        links: tuple[LinkedEntity, ...],
        to: Any,
        created_at: datetime,
        scheduled_at: datetime | None,
        expires_at: datetime | None = None,
    ) -> Message:
        """The message of one rendered template (validated, not stored)."""
        ref = TemplateRef(template.name, template.version)
        if template.channel is Channel.EMAIL:
            email = Message.email(
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
            return self.check(email)
        sms = Message.sms(
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
        return self.check(sms)
