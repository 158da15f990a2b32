"""Editing a message that is not sent yet: a new version, the audit event of who changed what,
and the attachments re-homed when the first client (whose key seals it) changes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

import attrs

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.addresses import EmailRecipients
from contos_messaging.domain.attachment import dedup_key, keyed_digest
from contos_messaging.domain.html import with_safe_html
from contos_messaging.domain.integrity import Update
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message
from contos_messaging.domain.phones import SmsRecipients, parse_phone_list
from contos_messaging.domain.send_log import AuditAction, AuditEvent
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
        recipients = SmsRecipients(parse_phone_list(given, region=core.settings.default_region))
    now = ports.clock.now()
    edited = message.edited(
        at=now, recipients=recipients, subject=subject, html=html, text=text,
        links=as_links(links) if links is not None else None, scheduled_at=scheduled_at,
        expires_at=expires_at,
    )  # fmt: skip
    edited = with_safe_html(edited, remote_images=core.settings.remote_images)
    core.composer.check(edited)
    changed = [name for name, value in (
        ("recipients", recipients), ("subject", subject), ("html", html), ("text", text),
        ("links", links), ("scheduled_at", scheduled_at), ("expires_at", expires_at),
    ) if value is not None]  # fmt: skip
    event = AuditEvent.record(
        actor.id, AuditAction.EDITED, message.id, at=now,
        version=str(edited.version), changed=",".join(changed),
    )  # fmt: skip
    if edited.key_scope != message.key_scope and edited.attachments:
        # Another first client: its key seals the message now, so its scope holds the
        # attachments too (copied before the message points there), under that scope's keyed
        # digests.
        scope_key = dedup_key(await ports.keys.blind_index_key(), edited.key_scope)
        moved = []
        for attachment in edited.attachments:
            data = await ports.blobs.get(message.key_scope, attachment.sha256)
            digest = keyed_digest(scope_key, hashlib.sha256(data).hexdigest())
            await ports.blobs.put(edited.key_scope, digest, data)
            moved.append(attrs.evolve(attachment, sha256=digest))
        edited = attrs.evolve(edited, attachments=tuple(moved))
    await ports.repository.update(Update(edited, message, events=[event]))
    await core.index.upsert([edited])
    return edited
