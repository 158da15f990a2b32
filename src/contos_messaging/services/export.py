"""Export and download: a message as the RFC 5322 bytes a mail client opens, an attachment's
bytes chunk by chunk, a message's audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import attrs

from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.message import Channel, Message
from contos_messaging.domain.send_log import AuditEvent
from contos_messaging.errors import InvalidInput
from contos_messaging.ports import OutgoingEmail
from contos_messaging.services.core import Core

__all__ = ["AttachmentDownload", "BlockingAttachmentDownload", "attachment", "audit", "outgoing"]


@attrs.frozen
class AttachmentDownload:
    """An attachment of a stored message, to be downloaded: its name, type and size first (for
    the response headers), then its bytes (``async for chunk in download.chunks``, about 1 MiB
    each, each one authenticated and decrypted as it is read).

    .. versionadded:: 0.5
    """

    attachment: Attachment
    chunks: AsyncIterator[bytes]


@attrs.frozen
class BlockingAttachmentDownload:
    """:class:`AttachmentDownload` of the blocking ``Messenger``: ``for chunk in
    download.chunks``.

    .. versionadded:: 0.5
    """

    attachment: Attachment
    chunks: Iterator[bytes]


def _checked_index(message: Message, index: int) -> Attachment:
    count = len(message.attachments)
    if not 0 <= index < count:
        raise InvalidInput(
            f"message {message.id} has {count} attachment(s), numbered from 0; there is no"
            f" attachment {index}"
        )
    return message.attachments[index]


async def outgoing(core: Core, message_id: str) -> OutgoingEmail:
    """The e-mail ``message_id`` as it is sent, with the content of its attachments."""
    message = await core.ports.repository.get(message_id)
    if message.channel is not Channel.EMAIL:
        raise InvalidInput(f"message {message_id} is an SMS: only an e-mail has an .eml form")
    contents = []
    for item in message.attachments:
        data = await core.ports.blobs.get(message.key_scope, item.sha256)
        contents.append((item, data))
    return OutgoingEmail(message, tuple(contents))


async def attachment(core: Core, message_id: str, index: int) -> AttachmentDownload:
    """See ``AsyncMessenger.attachment``."""
    message = await core.ports.repository.get(message_id)
    item = _checked_index(message, index)
    return AttachmentDownload(item, core.ports.blobs.read_chunks(message.key_scope, item.sha256))


async def audit(core: Core, message_id: str) -> list[AuditEvent]:
    """See ``AsyncMessenger.audit``."""
    if message_id.startswith("client:") and len(message_id) > len("client:"):
        return await core.ports.repository.audit(message_id)  # (a client's: its erasure)
    await core.ports.repository.get(message_id)  # (MessageNotFound for an unknown id)
    return await core.ports.repository.audit(message_id)


def blocking_chunks(
    run: Callable[[AsyncIterator[bytes]], bytes | None], chunks: AsyncIterator[bytes]
) -> Iterator[bytes]:
    """``chunks`` pulled one by one through ``run`` (which awaits the next chunk on the
    messenger's loop and gives None at the end)."""
    while (chunk := run(chunks)) is not None:
        yield chunk
