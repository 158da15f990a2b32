"""Editing a message that is not sent yet: a new version, the audit event of who changed what,
and the attachments re-homed when the first client (whose key seals it) changes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.addresses import EmailRecipients
from contos_messaging.domain.attachment import Attachment, dedup_key, keyed_digest
from contos_messaging.domain.html import with_safe_html
from contos_messaging.domain.integrity import Update
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message
from contos_messaging.domain.phones import SmsRecipients
from contos_messaging.domain.send_log import AuditAction, AuditEvent
from contos_messaging.errors import InvalidMessage
from contos_messaging.services.compose import check_attachment_types, store_attachments
from contos_messaging.services.composing import EmailInput, PhoneInput
from contos_messaging.services.context import as_links
from contos_messaging.services.core import Core

__all__ = ["edit"]


async def edit(
    core: Core,
    actor: Actor,
    message_id: str,
    *,
    to: EmailInput | PhoneInput | None,
    cc: EmailInput | None,
    bcc: EmailInput | None,
    subject: str | None,
    html: str | None,
    text: str | None,
    links: Iterable[LinkedEntity] | LinkedEntity | None,
    scheduled_at: datetime | None,
    expires_at: datetime | None,
    attachments: Sequence[Attachment] | None = None,
) -> Message:
    """See ``AsyncMessenger.edit``."""
    ports = core.ports
    message = await ports.repository.get(message_id)
    ports.permissions.check(actor, Permission.EDIT, message)
    recipients: EmailRecipients | SmsRecipients | None = None
    resolve = core.composer.resolve
    if message.channel is Channel.EMAIL and (to, cc, bcc) != (None, None, None):
        recipients = EmailRecipients.parse(
            await resolve(Channel.EMAIL, to or ()),
            await resolve(Channel.EMAIL, cc or ()),
            await resolve(Channel.EMAIL, bcc or ()),
        )
    elif message.channel is Channel.SMS and to is not None:
        given = await resolve(Channel.SMS, to)
        recipients = SmsRecipients(core.settings.sms_numbers(given))
    now = ports.clock.now()
    if message.channel is Channel.SMS and text is not None:
        text = core.settings.sms_text(text)
    edited = message.edited(
        at=now, recipients=recipients, subject=subject, html=html, text=text,
        links=as_links(links) if links is not None else None, scheduled_at=scheduled_at,
        expires_at=expires_at,
    )  # fmt: skip
    edited = with_safe_html(edited, remote_images=core.settings.remote_images)
    if attachments is not None:
        check_attachment_types(attachments)
        if attachments and message.channel is not Channel.EMAIL:
            raise InvalidMessage("attachments", "an SMS has no attachments")
        listed = tuple(a.metadata_only() for a in attachments)  # (sizes, for the checks)
        edited = attrs.evolve(edited, attachments=listed)
    core.composer.check(edited)
    changed = [name for name, value in (
        ("recipients", recipients), ("subject", subject), ("html", html), ("text", text),
        ("links", links), ("scheduled_at", scheduled_at), ("expires_at", expires_at),
        ("attachments", attachments),
    ) if value is not None]  # fmt: skip
    event = AuditEvent.record(
        actor.id, AuditAction.EDITED, message.id, at=now,
        version=str(edited.version), changed=",".join(changed),
    )  # fmt: skip
    given = message.attachments if attachments is None else attachments
    if given and (attachments is not None or edited.key_scope != message.key_scope):
        stored = await _stored(core, message, edited.key_scope, given)
        edited = attrs.evolve(edited, attachments=stored)
    await ports.repository.update(Update(edited, message, events=[event]))
    await core.index.upsert([edited])
    return edited


async def _stored(
    core: Core, message: Message, scope: str, given: Sequence[Attachment]
) -> tuple[Attachment, ...]:
    """The attachments of the edited message, in order, each stored in ``scope`` (the scope of
    the client whose key seals it): the message's own ones kept (copied over, under that
    scope's keyed digests, when its first client changed, before the message points there),
    new ones stored."""
    ports = core.ports
    own = {(a.sha256, a.filename) for a in message.attachments}
    scope_key = dedup_key(await ports.keys.blind_index_key(), scope)
    result: list[Attachment] = []
    for attachment in given:
        if attachment.source is not None or (attachment.sha256, attachment.filename) not in own:
            result += await store_attachments(core, scope, [attachment])
        elif scope == message.key_scope:
            result.append(attachment)
        else:
            data = await ports.blobs.get(message.key_scope, attachment.sha256)
            digest = keyed_digest(scope_key, hashlib.sha256(data).hexdigest())
            await ports.blobs.put(scope, digest, data)
            result.append(attrs.evolve(attachment, sha256=digest))
    return tuple(result)
