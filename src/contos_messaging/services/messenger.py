"""AsyncMessenger: the core facade. Every operation of the product is a method here."""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import attrs

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.addresses import (
    AddressInput,
    EmailAddress,
    EmailRecipients,
    parse_address,
)
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.ids import uuid7
from contos_messaging.domain.integrity import VerifyReport
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, MessageStatus
from contos_messaging.domain.page import Page
from contos_messaging.domain.phones import PhoneNumber, SmsRecipients, parse_phone_list
from contos_messaging.domain.send_log import AttemptKind, AuditAction, AuditEvent, SendAttempt
from contos_messaging.errors import (
    ConcurrentModification,
    ConfigurationError,
    IllegalTransition,
    InvalidAttachment,
    InvalidInput,
    UsageError,
)
from contos_messaging.ports import (
    AddressBook,
    Clock,
    ContextProvider,
    EmailTransport,
    PermissionPolicy,
    SmsTransport,
)
from contos_messaging.services import searching
from contos_messaging.services.composing import Progress, TemplateComposer
from contos_messaging.services.indexing import IndexUpdater
from contos_messaging.services.outbox import Outbox
from contos_messaging.services.searching import SearchPage
from contos_messaging.services.sending import Sender, SendReport
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


@attrs.frozen
class GcReport:
    """What :meth:`AsyncMessenger.gc` removed."""

    removed_objects: int
    freed_bytes: int


_SENDABLE = (MessageStatus.DRAFT, MessageStatus.QUEUED, MessageStatus.DEFERRED)
_CANCELLABLE = (MessageStatus.DRAFT, MessageStatus.QUEUED, MessageStatus.DEFERRED)


def _as_ids(message_ids: str | Iterable[str]) -> list[str]:
    ids = [message_ids] if isinstance(message_ids, str) else list(message_ids)
    for message_id in ids:
        if not isinstance(message_id, str) or not message_id:
            raise InvalidInput(f"message ids must be non-empty strings, got {message_id!r}")
    return list(dict.fromkeys(ids))


class AsyncMessenger:
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

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError("this messenger is closed")

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
    ) -> Message:
        """Compose and store an e-mail.

        ``to`` is a string with addresses separated by ``,`` or ``;`` or a sequence; when it is
        omitted the recipient comes from the address book entry of the first linked client.
        The message is a DRAFT, or QUEUED for ``scheduled_at``. Nothing is stored if any input
        is invalid.
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
        return await self._store_new(actor, message)

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
    ) -> Message:
        """Compose and store an SMS; ``to`` defaults to the linked client's mobile number."""
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
        return await self._store_new(actor, message)

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
    ) -> Message:
        """Render a stored template and store the message (DRAFT, or QUEUED when scheduled).

        Variables: each linked record under its kind (``{{ client.name }}``,
        ``{{ order.number }}``), ``company``, ``recipient``, then ``variables`` (which win).
        Without ``to`` the recipient is the linked client's address-book entry. The message
        records the template name and version. A render failure raises :class:`TemplateError`.
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
        return await self._store_new(actor, message)

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
        reported in ``failures`` with its reason; the others are stored."""
        self._check_open()

        async def store(messages: list[Message]) -> None:
            await self._ports.repository.add(messages)
            await self._index.add(messages)

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

    async def _store_new(self, actor: Actor, message: Message) -> Message:
        event = AuditEvent(
            id=uuid7(message.created_at),
            at=message.created_at,
            actor_id=actor.id,
            action=AuditAction.CREATED,
            subject=message.id,
            details={"channel": message.channel.value, "status": message.status.value},
        )
        await self._ports.repository.add([message], events=[event])
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

    # -- searching ---------------------------------------------------------------------------

    async def search(
        self,
        query: str,
        *,
        channel: Channel | None = None,
        status: MessageStatus | None = None,
        linked: LinkedEntity | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        created_by: str | None = None,
        order: Literal["relevance", "newest"] = "relevance",
        limit: int = 20,
        offset: int = 0,
    ) -> SearchPage:
        """Full-text search over subjects, bodies, recipients, attachment names and template
        names (not attachment contents). Case and diacritics do not matter, every word must
        match the start of a word (``novák`` finds ``Nováková``), and any input is accepted.
        Filters narrow the hits; an empty query lists newest first. Each hit carries the
        message decrypted from the store and a highlighted snippet (safe HTML)."""
        self._check_open()
        if not isinstance(query, str):
            raise InvalidInput(f"the query must be text, got {type(query).__name__}")
        if not self._index.is_rebuilding:  # (a search during a rebuild does not wait for it)
            await self._index.flush()  # see what was just stored
        return await searching.search(
            self._ports,
            query,
            channel=channel,
            status=status,
            linked=linked,
            since=since,
            until=until,
            created_by=created_by,
            order=order,
            limit=limit,
            offset=offset,
        )

    async def wait_indexed(self) -> None:
        """Wait until every message stored or changed so far is in the search index.

        The index is updated in the background (storing and sending never wait for it);
        :meth:`search` waits by itself, so this is for scripts, benchmarks and tests that look
        at the index directly or want a bulk run fully searchable before they go on."""
        self._check_open()
        await self._index.flush()

    async def reindex(self, *, progress: Progress | None = None) -> int:
        """Rebuild the search index from the store (it is derived data); returns the number of
        messages indexed. ``progress(done, total)`` is called after each batch of 2,000
        (100,000 messages take about 20 s)."""
        self._check_open()
        async with self._index.rebuilding():
            return await searching.reindex(self._ports, progress=progress)

    # -- sending -----------------------------------------------------------------------------

    async def send(self, actor: Actor, message_ids: str | Iterable[str]) -> SendReport:
        """Send the given messages now (the "tick several and send" of the communication window).

        Every id must exist and be DRAFT, QUEUED or DEFERRED, or nothing is sent. Each message
        gets one send-log entry per attempt; one failing message does not stop the rest.
        """
        self._check_open()
        ids = _as_ids(message_ids)
        messages = await self._ports.repository.get_many(ids)
        for message in messages:
            self._ports.permissions.check(actor, Permission.SEND, message)
            if message.status not in _SENDABLE:
                raise IllegalTransition(
                    message.id, message.status.value, MessageStatus.SENDING.value
                )
        report, updated = await self._sender.send_all(actor, messages, AttemptKind.SEND)
        await self._index.upsert(updated)
        return report

    async def send_due(
        self,
        limit: int | None = None,
        *,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 100,
        actor: Actor | None = None,
        watch: bool = False,
        poll: float = 5.0,
        progress: Progress | None = None,
    ) -> SendReport:
        """The outbox: send every message whose time has come (QUEUED now or at its
        ``scheduled_at``, DEFERRED at its retry time, SENDING whose lease expired because its
        sender died), at most ``limit``. Messages are claimed in batches under a lease fenced by
        a token, so several workers (threads or processes) on one store never send the same
        message twice; a sender that outlived its lease cannot record a late outcome. After a
        crash between the server's acceptance and the commit, the message goes again with the
        same Message-ID when the lease expires (at-least-once).

        With ``watch=True`` it keeps running, looking for due messages every ``poll`` seconds,
        until :meth:`stop_outbox` is called or (in the main thread) SIGTERM / SIGINT arrive:
        the batch in flight finishes and is recorded, nothing is left half-sent.
        ``progress(sent_so_far, attempted_so_far)`` is called after each batch.
        """
        self._check_open()
        if batch < 1 or (limit is not None and limit < 0) or poll <= 0:
            raise InvalidInput("batch must be at least 1, limit not negative, poll positive")
        return await self._outbox.run(
            limit,
            lease=lease,
            batch=batch,
            actor=actor or Actor.system(),
            owner=f"{socket.gethostname()}:{os.getpid()}:{id(self):x}",
            watch=watch,
            poll=poll,
            progress=progress,
        )

    def stop_outbox(self) -> None:
        """Ask a running ``send_due(watch=True)`` to finish its batch and return. Safe to call
        from any thread."""
        self._outbox.stop()

    async def resend(self, actor: Actor, message_id: str) -> SendAttempt:
        """Send a message again (SENT, PARTIALLY_SENT or FAILED) to all its recipients, with
        the same content and Message-ID; the attempt is logged as a resend."""
        self._check_open()
        message = await self._ports.repository.get(message_id)
        self._ports.permissions.check(actor, Permission.RESEND, message)
        if message.status not in (
            MessageStatus.SENT,
            MessageStatus.PARTIALLY_SENT,
            MessageStatus.FAILED,
        ):
            raise IllegalTransition(message.id, message.status.value, "resend")
        report, updated = await self._sender.send_all(actor, [message], AttemptKind.RESEND)
        await self._index.upsert(updated)
        if report.error is not None:
            raise report.error
        if not report.attempts:
            raise ConcurrentModification(message.id)
        return report.attempts[0]

    async def edit(
        self,
        actor: Actor,
        message_id: str,
        *,
        to: AddressInput | None = None,
        cc: AddressInput | None = None,
        bcc: AddressInput | None = None,
        subject: str | None = None,
        html: str | None = None,
        text: str | None = None,
        links: Iterable[LinkedEntity] | LinkedEntity | None = None,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> Message:
        """Change a message that is not sent yet (DRAFT, QUEUED or DEFERRED); parts left as
        None stay. Needs :attr:`Permission.EDIT` (and ``EDIT_OTHERS`` for someone else's
        message). The message gets a new ``version``; the audit log records who changed what;
        the search index follows. For e-mail, giving any of ``to`` / ``cc`` / ``bcc`` replaces
        all three (the others become empty unless given)."""
        self._check_open()
        message = await self._ports.repository.get(message_id)
        self._ports.permissions.check(actor, Permission.EDIT, message)
        recipients: EmailRecipients | SmsRecipients | None = None
        if message.channel is Channel.EMAIL and (to, cc, bcc) != (None, None, None):
            recipients = EmailRecipients.parse(to or (), cc or (), bcc or ())
        elif message.channel is Channel.SMS and to is not None:
            recipients = SmsRecipients(
                parse_phone_list(to, region=self._settings.default_region)  # type: ignore[arg-type]
            )
        now = self._ports.clock.now()
        edited = message.edited(
            at=now,
            recipients=recipients,
            subject=subject,
            html=html,
            text=text,
            links=as_links(links) if links is not None else None,
            scheduled_at=scheduled_at,
            expires_at=expires_at,
        )
        changed = [name for name, value in (
            ("recipients", recipients), ("subject", subject), ("html", html), ("text", text),
            ("links", links), ("scheduled_at", scheduled_at), ("expires_at", expires_at),
        ) if value is not None]  # fmt: skip
        event = AuditEvent(
            id=uuid7(now), at=now, actor_id=actor.id, action=AuditAction.EDITED,
            subject=message.id, details={"version": str(edited.version),
                                         "changed": ",".join(changed)},
        )  # fmt: skip
        if edited.key_scope != message.key_scope:
            # Another first client: its key seals the message now, so its scope holds the
            # attachments too (copied before the message points there).
            for attachment in message.attachments:
                data = await self._ports.blobs.get(message.key_scope, attachment.sha256)
                await self._ports.blobs.put(edited.key_scope, attachment.sha256, data)
        await self._ports.repository.update(edited, expected=message, events=[event])
        await self._index.upsert([edited])
        return edited

    async def cancel(self, actor: Actor, message_id: str) -> Message:
        """Withdraw a message that is not sent yet (DRAFT, QUEUED or DEFERRED)."""
        self._check_open()
        message = await self._ports.repository.get(message_id)
        self._ports.permissions.check(actor, Permission.CANCEL, message)
        if message.status not in _CANCELLABLE:
            raise IllegalTransition(message.id, message.status.value, MessageStatus.CANCELLED.value)
        now = self._ports.clock.now()
        cancelled = message.transition(MessageStatus.CANCELLED, at=now)
        event = AuditEvent(
            id=uuid7(now),
            at=now,
            actor_id=actor.id,
            action=AuditAction.CANCELLED,
            subject=message.id,
            details={"from": message.status.value},
        )
        await self._ports.repository.update(cancelled, expected=message, events=[event])
        await self._index.upsert([cancelled])
        return cancelled

    # -- administration ----------------------------------------------------------------------

    async def erase_client(self, actor: Actor, client_id: str) -> tuple[str, ...]:
        """Erase all communication sealed under a client's key (crypto-shredding).

        The client's keys are destroyed first, so its content can never be opened again even if
        the call is interrupted (calling it again finishes the job); then its messages, links,
        blind-index rows, send log, attachments and search documents are deleted and a
        tombstone is written to the audit log. Returns the erased message ids.
        """
        self._check_open()
        self._ports.permissions.check(actor, Permission.ERASE)
        if not isinstance(client_id, str) or not client_id:
            raise InvalidInput(f"client_id must be a non-empty string, got {client_id!r}")
        LinkedEntity.client(client_id)  # validates the id
        p = self._ports
        await p.keys.destroy(client_id)
        now = p.clock.now()
        pending = AuditEvent(
            id=uuid7(now),
            at=now,
            actor_id=actor.id,
            action=AuditAction.ERASED,
            subject=f"client:{client_id}",
            details={"client": client_id},
        )
        erased = await p.repository.erase_scope(client_id, tombstone=pending)
        await p.blobs.delete_scope(client_id)
        await self._index.delete(erased)
        return tuple(erased)

    async def rotate_client_key(self, actor: Actor, client_id: str) -> str:
        """Start a new key version for a client: new content uses it, old content stays
        readable with the older version. Returns the new key id."""
        self._check_open()
        self._ports.permissions.check(actor, Permission.MANAGE_KEYS)
        LinkedEntity.client(client_id)
        return await self._ports.keys.rotate(client_id)

    async def verify(self) -> VerifyReport:
        """Open every stored object (messages, send log, attachments) and report each one that
        fails its integrity check; the others are unaffected."""
        self._check_open()
        return await self._ports.repository.verify() + await self._ports.blobs.verify()

    async def gc(self, *, grace: timedelta = timedelta(hours=1)) -> GcReport:
        """Remove stored attachments no message refers to (left by an interrupted compose)
        once they are older than ``grace``, then reclaim their space."""
        self._check_open()
        p = self._ports
        referenced = await p.repository.referenced_blobs()
        # Age is wall-clock time: the grace protects composes running right now.
        candidates = await p.blobs.list_objects(created_before=datetime.now(UTC) - grace)
        orphans = [obj for obj in candidates if obj not in referenced]
        for scope, key in orphans:
            await p.blobs.delete(scope, key)
        return GcReport(removed_objects=len(orphans), freed_bytes=await p.blobs.compact())


def _check_unchanged(path: Path, attachment: Attachment) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidAttachment(attachment.filename, f"cannot read {path}: {exc.strerror}") from exc
    if size != attachment.size:
        raise InvalidAttachment(attachment.filename, f"{path} changed since it was attached")
