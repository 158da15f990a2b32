"""Composing: an e-mail or an SMS by hand, or a message from a template; stored as a DRAFT (or
QUEUED when scheduled) with its attachments, its ``created`` audit event and, with an
idempotency key, only once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.addresses import (
    EmailAddress,
    EmailRecipients,
    parse_address,
)
from contos_messaging.domain.attachment import Attachment, dedup_key
from contos_messaging.domain.html import with_safe_html
from contos_messaging.domain.ids import check_idempotency_keys
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message
from contos_messaging.domain.phones import SmsRecipients
from contos_messaging.domain.send_log import AuditAction, AuditEvent
from contos_messaging.errors import InvalidAttachment, InvalidMessage, MessagingError
from contos_messaging.services.composing import EmailInput, PhoneInput
from contos_messaging.services.context import ContextBuilder, as_links
from contos_messaging.services.core import Core

__all__ = [
    "check_attachment_types",
    "compose_email",
    "compose_from_template",
    "compose_sms",
    "stage_attachments",
    "store_attachments",
    "store_new",
]


async def compose_email(
    core: Core,
    actor: Actor,
    *,
    to: EmailInput | None,
    subject: str,
    html: str | None,
    text: str | None,
    cc: EmailInput,
    bcc: EmailInput,
    sender: EmailAddress | str | None,
    attachments: Sequence[Attachment],
    links: Iterable[LinkedEntity] | LinkedEntity,
    scheduled_at: datetime | None,
    expires_at: datetime | None,
    idempotency_key: str | None,
) -> Message:
    """See ``AsyncMessenger.compose_email``."""
    ports = core.ports
    ports.permissions.check(actor, Permission.COMPOSE)
    composer = core.composer
    link_tuple = await composer.with_owners(as_links(links))
    to_, _contact = await composer.recipient(Channel.EMAIL, link_tuple, to)
    cc_, bcc_ = (
        await composer.resolve(Channel.EMAIL, cc),
        await composer.resolve(Channel.EMAIL, bcc),
    )
    recipients = EmailRecipients.parse(to_, cc_, bcc_)
    if sender is None:
        from_ = core.settings.company_sender
    else:
        from_ = sender if isinstance(sender, EmailAddress) else parse_address(sender)
    check_attachment_types(attachments)
    message = Message.email(
        sender=from_, recipients=recipients, subject=subject, html=html, text=text,
        attachments=[a.metadata_only() for a in attachments], links=link_tuple,
        created_by=actor.id, created_at=ports.clock.now(), scheduled_at=scheduled_at,
        expires_at=expires_at,
    )  # fmt: skip
    message = with_safe_html(message, remote_images=core.settings.remote_images)
    core.composer.check(message)
    # Checked again when stored; checked here too, so a bad key stores no attachment first.
    check_idempotency_keys([message], [] if idempotency_key is None else [idempotency_key])
    stored = await store_attachments(core, message.key_scope, attachments)
    message = attrs.evolve(message, attachments=stored)
    return await store_new(core, actor, message, idempotency_key)


async def compose_sms(
    core: Core,
    actor: Actor,
    *,
    to: PhoneInput | None,
    text: str,
    sender: str | None,
    links: Iterable[LinkedEntity] | LinkedEntity,
    scheduled_at: datetime | None,
    expires_at: datetime | None,
    idempotency_key: str | None,
) -> Message:
    """See ``AsyncMessenger.compose_sms``."""
    ports, settings = core.ports, core.settings
    ports.permissions.check(actor, Permission.COMPOSE)
    link_tuple = await core.composer.with_owners(as_links(links))
    numbers, _contact = await core.composer.recipient(Channel.SMS, link_tuple, to)
    message = Message.sms(
        sender=sender or settings.sms_sender,
        recipients=SmsRecipients(settings.sms_numbers(numbers)),
        text=settings.sms_text(text), links=link_tuple, created_by=actor.id,
        created_at=ports.clock.now(), message_id_domain=settings.message_id_domain,
        scheduled_at=scheduled_at,
        expires_at=expires_at,
    )  # fmt: skip
    return await store_new(core, actor, core.composer.check(message), idempotency_key)


async def compose_from_template(
    core: Core,
    actor: Actor,
    template_name: str,
    *,
    links: Iterable[LinkedEntity] | LinkedEntity,
    to: EmailInput | PhoneInput | None,
    variables: Mapping[str, Any] | None,
    language: str | None,
    scheduled_at: datetime | None,
    expires_at: datetime | None,
    idempotency_key: str | None,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """See ``AsyncMessenger.compose_from_template``."""
    ports = core.ports
    ports.permissions.check(actor, Permission.COMPOSE)
    check_attachment_types(attachments)
    link_tuple = await core.composer.with_owners(as_links(links))
    template = await core.templates.get(template_name, language=language)
    recipient, contact = await core.composer.recipient(template.channel, link_tuple, to)
    context = await ContextBuilder(ports, core.settings).build(link_tuple, variables, contact)
    (result,) = await ports.renderer.render(template, [context])
    if isinstance(result, MessagingError):
        raise result
    message = core.composer.build(
        actor, template, result, link_tuple, recipient, ports.clock.now(), scheduled_at,
        expires_at,
    )  # fmt: skip
    if attachments:
        if message.channel is not Channel.EMAIL:
            raise InvalidMessage("attachments", "an SMS has no attachments")
        message = attrs.evolve(message, attachments=tuple(a.metadata_only() for a in attachments))
    message = core.composer.check(message)  # (its HTML was sanitised when it was built)
    check_idempotency_keys([message], [] if idempotency_key is None else [idempotency_key])
    stored = await store_attachments(core, message.key_scope, attachments)
    return await store_new(core, actor, attrs.evolve(message, attachments=stored), idempotency_key)


async def store_new(
    core: Core, actor: Actor, message: Message, idempotency_key: str | None = None
) -> Message:
    """Store a new message with its ``created`` event; with a key already stored, the message
    stored the first time instead."""
    repository = core.ports.repository
    event = AuditEvent.record(
        actor.id, AuditAction.CREATED, message.id, at=message.created_at,
        channel=message.channel.value, status=message.status.value,
    )  # fmt: skip
    keys = () if idempotency_key is None else [idempotency_key]
    taken = await repository.add([message], events=[event], idempotency_keys=keys)
    if taken:
        return await repository.get(taken[message.id])
    await core.index.add([message])
    return message


def check_attachment_types(attachments: Sequence[Attachment]) -> None:
    """InvalidAttachment for an item that is not an :class:`Attachment`."""
    for attachment in attachments:
        if not isinstance(attachment, Attachment):
            raise InvalidAttachment(repr(attachment), "use Attachment.from_bytes or from_path")


async def store_attachments(
    core: Core, scope: str, attachments: Sequence[Attachment]
) -> tuple[Attachment, ...]:
    """Store each attachment's content in ``scope`` under its keyed digest (equal content once
    per scope); return the metadata the message keeps: keyed digests, no content."""
    stored, puts = await stage_attachments(core, scope, attachments)
    if puts:
        await core.ports.blobs.put_many(puts)
    return stored


async def stage_attachments(
    core: Core, scope: str, attachments: Sequence[Attachment]
) -> tuple[tuple[Attachment, ...], list[tuple[str, str, bytes]]]:
    """The metadata the message keeps (keyed digests, no content) and the ``(scope, key,
    content)`` still to be stored with ``BlobStore.put_many`` (files are stored at once, as
    they are read in chunks): a bulk run stores a whole batch's attachments in one write."""
    blobs = core.ports.blobs
    scope_key = dedup_key(await core.ports.keys.blind_index_key(), scope) if attachments else b""
    stored: list[Attachment] = []
    puts: list[tuple[str, str, bytes]] = []
    for attachment in attachments:
        keyed = attachment.keyed(scope_key).metadata_only()
        source = attachment.source
        if source is None:
            if not await blobs.exists(scope, keyed.sha256):
                if attachment.is_keyed or not await blobs.exists(scope, attachment.sha256):
                    raise InvalidAttachment(attachment.filename, "it carries no content")
                keyed = attachment  # stored before digests were keyed: kept as it was
        elif isinstance(source, bytes):
            puts.append((scope, keyed.sha256, source))
        else:
            _check_unchanged(source, attachment)
            await blobs.put_file(scope, keyed.sha256, source)
        stored.append(keyed)
    return tuple(stored), puts


def _check_unchanged(path: Path, attachment: Attachment) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidAttachment(attachment.filename, f"cannot read {path}: {exc.strerror}") from exc
    if size != attachment.size:
        raise InvalidAttachment(attachment.filename, f"{path} changed since it was attached")
