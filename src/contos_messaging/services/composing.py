"""Rendering a message from a template, and finding its recipient in the address book: what
composing from a template and bulk generation share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from contos_messaging.domain.actor import Actor
from contos_messaging.domain.addresses import EmailAddress, EmailRecipients
from contos_messaging.domain.html import with_safe_html
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, TemplateRef
from contos_messaging.domain.mime_size import encoded_size
from contos_messaging.domain.phones import PhoneNumber, SmsRecipients
from contos_messaging.domain.template import Template
from contos_messaging.errors import InvalidMessage, LimitExceeded
from contos_messaging.ports import Contact, RecordOwners, RenderedParts
from contos_messaging.services.settings import MessengerSettings, Ports

__all__ = ["EmailInput", "PhoneInput", "Progress", "TemplateComposer", "html_policy"]

EmailInput = str | EmailAddress | LinkedEntity | Sequence[str | EmailAddress | LinkedEntity]
"""E-mail recipients as the facades take them: addresses (a string may hold several, separated
by ``,`` or ``;``) and records whose contact's address the address book gives."""
PhoneInput = str | PhoneNumber | LinkedEntity | Sequence[str | PhoneNumber | LinkedEntity]
"""SMS recipients: numbers, and records whose contact's number the address book gives."""

Progress = Callable[[int, int], Awaitable[None] | None]
"""``progress(done, total)``, called after each stored batch; may be a coroutine function."""


def html_policy(settings: MessengerSettings) -> str:
    """The renderer's ``html_policy`` that sanitises as ``settings`` ask."""
    return "remote" if settings.remote_images else "local"


class TemplateComposer:
    """Renders messages from templates (not stored: the use cases store them)."""

    def __init__(self, ports: Ports, settings: MessengerSettings) -> None:
        self._ports = ports
        self._settings = settings
        self._html_policy = html_policy(settings)

    async def record_contact(self, record: LinkedEntity) -> tuple[LinkedEntity, Contact | None]:
        """Whose contact stands for ``record``, and that contact: the client the host names as
        the record's owner (:class:`~contos_messaging.ports.RecordOwners`), else the record."""
        book = self._ports.address_book
        if record.kind != "client" and isinstance(book, RecordOwners):
            owner = await book.owner(record)
            if owner is not None:
                return owner, await book.contact(owner)
        return record, await book.contact(record)

    @staticmethod
    def address(
        channel: Channel, record: LinkedEntity | str, contact: Contact | None, *, asked: str = ""
    ) -> EmailAddress | str:
        """The e-mail address (or phone number) of ``record``'s contact; InvalidMessage saying
        whether the record is unknown or has no such address."""
        if contact is None:
            raise InvalidMessage("to", f"{asked}{record} is not in the address book (not found)")
        if channel is Channel.EMAIL:
            if not contact.email:
                raise InvalidMessage(
                    "to", f"{asked}{record} has no e-mail address in the address book"
                )
            return EmailAddress(contact.email, contact.name)
        if not contact.phone:
            raise InvalidMessage("to", f"{asked}{record} has no phone number in the address book")
        return contact.phone

    async def resolve(self, channel: Channel, given: Any) -> Any:
        """``given`` recipients with each record among them (a ``LinkedEntity``) replaced by
        its contact's address; anything else is left for the parsers to judge."""
        if isinstance(given, LinkedEntity):
            given = [given]
        elif isinstance(given, str) or not isinstance(given, Sequence):
            return given
        if not any(isinstance(item, LinkedEntity) for item in given):
            return given
        resolved = []
        for item in given:
            if isinstance(item, LinkedEntity):
                whose, contact = await self.record_contact(item)
                shown = item if whose == item else f"{whose} (of {item})"
                resolved.append(self.address(channel, shown, contact))
            else:
                resolved.append(item)
        return resolved

    async def with_owners(self, links: tuple[LinkedEntity, ...]) -> tuple[LinkedEntity, ...]:
        """``links`` and, when none is a client, the clients the host names as owners of the
        linked records (so the message is in their history, sealed under their key, erased
        with them); unchanged when the address book does not implement ``owner``."""
        book = self._ports.address_book
        if not isinstance(book, RecordOwners) or any(link.kind == "client" for link in links):
            return links
        owners: list[LinkedEntity] = []
        for link in links:
            owner = await book.owner(link)
            if owner is not None and owner not in links and owner not in owners:
                owners.append(owner)
        return (*links, *owners)

    async def recipient(
        self, channel: Channel, links: Sequence[LinkedEntity], to: Any
    ) -> tuple[Any, Contact | None]:
        """``to`` (records in it resolved) or, without it, the address of the first linked
        client (or of the first linked record's owner, or of the record itself) from the
        address book; and that contact. :class:`InvalidMessage` when there is none."""
        source = next((link for link in links if link.kind == "client"), None)
        if source is None and links:
            source = links[0]
        whose, contact = (await self.record_contact(source)) if source else (None, None)
        if to is not None:
            return await self.resolve(channel, to), contact
        if source is None or whose is None:
            raise InvalidMessage("to", "no recipient given and no record linked to take one from")
        shown = whose if whose == source else f"{whose} (of {source})"
        asked = "no recipient given and "
        return self.address(channel, shown, contact, asked=asked), contact

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
            # Sanitised by the renderer (beside the rendering, in its workers) unless it did not
            # say it did, under this messenger's policy.
            if email.html and rendered.safe_html != self._html_policy:
                email = with_safe_html(email, remote_images=self._settings.remote_images)
            return self.check(email)
        sms = Message.sms(
            sender=self._settings.sms_sender,
            recipients=SmsRecipients(self._settings.sms_numbers(to)),
            text=self._settings.sms_text(rendered.text or "", template.sms_policy),
            links=links,
            created_by=actor.id,
            created_at=created_at,
            message_id_domain=self._settings.message_id_domain,
            template=ref,
            scheduled_at=scheduled_at,
            expires_at=expires_at,
        )
        return self.check(sms)
