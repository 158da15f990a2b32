"""AsyncMessenger: the core facade. Every operation of the product is one of its methods (composing
and reading here; searching, sending and editing, and administration in the messenger_* modules)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.addresses import (
    AddressInput,
    EmailAddress,
    EmailRecipients,
    parse_address,
)
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.ids import uuid7
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, MessageStatus
from contos_messaging.domain.page import Page
from contos_messaging.domain.phones import PhoneNumber, SmsRecipients, parse_phone_list
from contos_messaging.domain.send_log import AuditAction, AuditEvent, SendAttempt
from contos_messaging.errors import (
    ConfigurationError,
    InvalidAttachment,
    InvalidInput,
)
from contos_messaging.ports import (
    AddressBook,
    Clock,
    ContextProvider,
    EmailTransport,
    PermissionPolicy,
    SmsTransport,
)
from contos_messaging.services.composing import Progress, TemplateComposer
from contos_messaging.services.indexing import IndexUpdater
from contos_messaging.services.messenger_admin import AdminMethods, GcReport
from contos_messaging.services.messenger_search import SearchMethods
from contos_messaging.services.messenger_sending import SendingMethods
from contos_messaging.services.outbox import Outbox
from contos_messaging.services.sending import Sender
from contos_messaging.services.settings import MessengerSettings, Ports
from contos_messaging.services.templating import AsyncTemplates, BulkReport, BulkTarget, as_links

__all__ = ["AsyncMessenger", "GcReport", "register_embedded_opener"]

_EmbeddedOpener = Callable[..., Awaitable["AsyncMessenger"]]
_embedded_opener: _EmbeddedOpener | None = None


def register_embedded_opener(opener: _EmbeddedOpener) -> None:
    """Install the function behind :meth:`AsyncMessenger.open` (done by ``bootstrap``, which
    owns the adapters; the services layer does not import them)."""
    global _embedded_opener
    _embedded_opener = opener


class AsyncMessenger(SearchMethods, SendingMethods, AdminMethods):
    """Client communication for one host application: compose, store, link, send, look up.

    Build one with :func:`contos_messaging.bootstrap.wire` (or
    :func:`contos_messaging.testing.make_async_test_messenger` in tests). Use it as an async
    context manager, or call :meth:`aclose` when done. The blocking twin is
    :class:`contos_messaging.Messenger`.
    """

    def __init__(self, ports: Ports, settings: MessengerSettings) -> None:
        self._ports = ports
        self._settings = settings
        self._index = IndexUpdater(ports.search)
        self._sender = Sender(ports, settings)
        self._templates = AsyncTemplates(ports, settings)
        self._composer = TemplateComposer(ports, settings, self._templates)
        self._outbox = Outbox(ports, self._sender, self._index)
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        master_key: bytes | str | None = None,
        company_sender: EmailAddress | str | None = None,
        settings: MessengerSettings | None = None,
        email_transport: EmailTransport | None = None,
        sms_transport: SmsTransport | None = None,
        address_book: AddressBook | None = None,
        context: ContextProvider | None = None,
        permissions: PermissionPolicy | None = None,
        clock: Clock | None = None,
    ) -> AsyncMessenger:
        """Open (or create) the embedded store in the directory ``path``: SQLite metadata, the
        encrypted file store and the key store, all under ``master_key`` (32 bytes or their
        base64; default: ``CONTOS_MESSAGING_MASTER_KEY`` or ``..._FILE`` from the environment).
        A missing or wrong master key raises :class:`ConfigurationError` before anything is
        written. The other arguments are as for :func:`contos_messaging.wire`.
        """
        if _embedded_opener is None:
            raise ConfigurationError("import contos_messaging to install the embedded adapters")
        return await _embedded_opener(
            path,
            master_key=master_key,
            company_sender=company_sender,
            settings=settings,
            email_transport=email_transport,
            sms_transport=sms_transport,
            address_book=address_book,
            context=context,
            permissions=permissions,
            clock=clock,
        )

    @property
    def ports(self) -> Ports:
        """The adapters this messenger runs on (in tests: the fakes to inspect)."""
        return self._ports

    @property
    def settings(self) -> MessengerSettings:
        """The company-wide settings."""
        return self._settings

    @property
    def templates(self) -> AsyncTemplates:
        """The template store: ``save``, ``get``, ``list``, ``retire``, ``variables``,
        ``preview``."""
        return self._templates

    async def aclose(self) -> None:
        """Close transports, index and store. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._index.flush()
        p = self._ports
        for resource in (
            p.email_transport,
            p.sms_transport,
            p.search,
            p.blobs,
            p.templates,
            p.renderer,
            p.repository,
            p.keys,
        ):
            if resource is not None:
                await resource.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- composing ---------------------------------------------------------------------------

    async def compose_email(
        self,
        actor: Actor,
        *,
        to: AddressInput | None = None,
        subject: str,
        html: str | None = None,
        text: str | None = None,
        cc: AddressInput = (),
        bcc: AddressInput = (),
        sender: EmailAddress | str | None = None,
        attachments: Sequence[Attachment] = (),
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Compose and store an e-mail.

        ``to`` is a string with addresses separated by ``,`` or ``;`` or a sequence; when it is
        omitted the recipient comes from the address book entry of the first linked client.
        The message is a DRAFT, or QUEUED for ``scheduled_at``. Nothing is stored if any input
        is invalid. With ``idempotency_key``, a call retried with the same key (from any process
        on the store) returns the message stored the first time instead of a second one.
        """
        self._check_open()
        self._ports.permissions.check(actor, Permission.COMPOSE)
        link_tuple = as_links(links)
        if to is None:
            to, _contact = await self._composer.recipient(Channel.EMAIL, link_tuple, None)
        recipients = EmailRecipients.parse(to, cc, bcc)
        from_ = (
            self._settings.company_sender
            if sender is None
            else (sender if isinstance(sender, EmailAddress) else parse_address(sender))
        )
        for attachment in attachments:
            if not isinstance(attachment, Attachment):
                raise InvalidAttachment(repr(attachment), "use Attachment.from_bytes or from_path")
        message = Message.email(
            sender=from_,
            recipients=recipients,
            subject=subject,
            html=html,
            text=text,
            attachments=[a.metadata_only() for a in attachments],
            links=link_tuple,
            created_by=actor.id,
            created_at=self._ports.clock.now(),
            scheduled_at=scheduled_at,
            expires_at=expires_at,
        )
        await self._store_attachments(message.key_scope, attachments)
        return await self._store_new(actor, message, idempotency_key)

    async def compose_sms(
        self,
        actor: Actor,
        *,
        to: str | PhoneNumber | Sequence[str | PhoneNumber] | None = None,
        text: str,
        sender: str | None = None,
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Compose and store an SMS; ``to`` defaults to the linked client's mobile number.
        ``idempotency_key`` as for :meth:`compose_email`."""
        self._check_open()
        self._ports.permissions.check(actor, Permission.COMPOSE)
        link_tuple = as_links(links)
        if to is None:
            to, _contact = await self._composer.recipient(Channel.SMS, link_tuple, None)
        numbers = parse_phone_list(to, region=self._settings.default_region)
        message = Message.sms(
            sender=sender or self._settings.sms_sender,
            recipients=SmsRecipients(numbers),
            text=text,
            links=link_tuple,
            created_by=actor.id,
            created_at=self._ports.clock.now(),
            message_id_domain=self._settings.message_id_domain,
            scheduled_at=scheduled_at,
            expires_at=expires_at,
        )
        return await self._store_new(actor, message, idempotency_key)

    async def compose_from_template(
        self,
        actor: Actor,
        template_name: str,
        *,
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        to: AddressInput | None = None,
        variables: Mapping[str, Any] | None = None,
        language: str | None = None,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Render a stored template and store the message (DRAFT, or QUEUED when scheduled).

        Variables: each linked record under its kind (``{{ client.name }}``,
        ``{{ order.number }}``), ``company``, ``recipient``, then ``variables`` (which win).
        Without ``to`` the recipient is the linked client's address-book entry. The message
        records the template name and version. A render failure raises :class:`TemplateError`.
        ``idempotency_key`` as for :meth:`compose_email`.
        """
        self._check_open()
        message = await self._composer.compose(
            actor,
            template_name,
            links=links,
            to=to,
            variables=variables,
            language=language,
            scheduled_at=scheduled_at,
            expires_at=expires_at,
        )
        return await self._store_new(actor, message, idempotency_key)

    async def generate_bulk(
        self,
        actor: Actor,
        template_name: str,
        targets: Iterable[BulkTarget | LinkedEntity | Iterable[LinkedEntity]],
        *,
        scheduled_at: datetime | None = None,
        progress: Progress | None = None,
        language: str | None = None,
        batch_size: int = 500,
    ) -> BulkReport:
        """One message per target (a :class:`BulkTarget`, or just its links), rendered and
        stored QUEUED for sending at ``scheduled_at`` (default: as soon as the outbox runs), in
        batches of ``batch_size``, each one transaction. ``progress(done, total)`` is called
        after each batch. A target that fails (no recipient, bad address, render error) is
        reported in ``failures`` with its reason; the others are stored. A target whose
        ``idempotency_key`` is stored already (a retried run) gets no second message: the
        stored one's id is in ``created``."""
        self._check_open()

        async def store(messages: list[Message], keys: list[str | None]) -> dict[str, str]:
            taken = await self._ports.repository.add(
                messages, idempotency_keys=keys if any(keys) else ()
            )
            await self._index.add([m for m in messages if m.id not in taken])
            return taken

        return await self._composer.bulk(
            actor,
            template_name,
            targets,
            scheduled_at=scheduled_at,
            progress=progress,
            language=language,
            batch_size=batch_size,
            store=store,
        )

    async def _store_attachments(self, scope: str, attachments: Sequence[Attachment]) -> None:
        for attachment in attachments:
            source = attachment.source
            if source is None:
                if not await self._ports.blobs.exists(scope, attachment.sha256):
                    raise InvalidAttachment(attachment.filename, "it carries no content")
            elif isinstance(source, bytes):
                await self._ports.blobs.put(scope, attachment.sha256, source)
            else:
                _check_unchanged(source, attachment)
                await self._ports.blobs.put_file(scope, attachment.sha256, source)

    async def _store_new(
        self, actor: Actor, message: Message, idempotency_key: str | None = None
    ) -> Message:
        event = AuditEvent(
            id=uuid7(message.created_at),
            at=message.created_at,
            actor_id=actor.id,
            action=AuditAction.CREATED,
            subject=message.id,
            details={"channel": message.channel.value, "status": message.status.value},
        )
        keys = () if idempotency_key is None else [idempotency_key]
        taken = await self._ports.repository.add([message], events=[event], idempotency_keys=keys)
        if taken:
            return await self._ports.repository.get(taken[message.id])
        await self._index.add([message])
        return message

    # -- reading -----------------------------------------------------------------------------

    async def get(self, message_id: str) -> Message:
        """Return one message by id; :class:`MessageNotFound` if there is none."""
        self._check_open()
        return await self._ports.repository.get(message_id)

    async def history(
        self,
        entity: LinkedEntity,
        *,
        channel: Channel | None = None,
        status: MessageStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        created_by: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Message]:
        """All communication linked to ``entity`` (a client, order, contract, ...), newest first.

        ``since`` is inclusive, ``until`` exclusive; ``limit`` (1-1000) and ``offset`` page.
        """
        self._check_open()
        if not isinstance(entity, LinkedEntity):
            raise InvalidInput(f"history needs a LinkedEntity, got {entity!r}")
        return await self._ports.repository.list_linked(
            entity,
            channel=channel,
            status=status,
            since=since,
            until=until,
            created_by=created_by,
            limit=limit,
            offset=offset,
        )

    async def send_log(self, message_id: str) -> list[SendAttempt]:
        """Every sending attempt of a message, oldest first: who, when, where, outcome."""
        self._check_open()
        await self._ports.repository.get(message_id)
        return await self._ports.repository.attempts(message_id)


def _check_unchanged(path: Path, attachment: Attachment) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidAttachment(attachment.filename, f"cannot read {path}: {exc.strerror}") from exc
    if size != attachment.size:
        raise InvalidAttachment(attachment.filename, f"{path} changed since it was attached")
