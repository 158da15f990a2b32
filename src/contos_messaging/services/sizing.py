"""How large an e-mail will be on the wire, for a compose window that checks a file before it
is added (drag and drop): the same count the composer checks against the limits."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from contos_messaging.domain.addresses import EmailAddress, EmailRecipients
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.message import Channel, Message
from contos_messaging.domain.mime_size import base64_size, encoded_size
from contos_messaging.errors import InvalidInput
from contos_messaging.services.core import Core

__all__ = ["EmailSize", "email_size"]

# Bytes a file's part adds besides its base64 (headers, boundary, a long file name).
_PART = 1024


@attrs.frozen
class EmailSize:
    """An e-mail's size against its limits.

    ``encoded``: bytes on the wire with the files added (an upper bound, attachments counted
    exactly as base64); ``attachments_encoded``: its attachments' part of that; ``limit``: the
    e-mail transport's ``max_message_size`` (None: none configured); ``attachments_limit``:
    ``Limits.attachments_bytes``; ``fits``: whether it passes both and the number of files
    allowed; ``room``: how many more bytes one more file may have (as it is on disk, before
    base64), 0 when none fits.

    .. versionadded:: 0.5
    """

    encoded: int
    attachments_encoded: int
    limit: int | None
    attachments_limit: int
    fits: bool
    room: int


def _raw_room(wire: int) -> int:
    """The largest file whose base64 (with the part's headers) takes at most ``wire`` bytes."""
    wire -= _PART
    if wire <= 0:
        return 0
    size = (wire // 78) * 57  # 57 bytes make one line of 76 characters and CRLF
    while size > 0 and base64_size(size) > wire:
        size -= 1
    return size


async def email_size(core: Core, message_id: str | None, adding: Sequence[int]) -> EmailSize:
    """See ``AsyncMessenger.email_size``."""
    sizes = list(adding)
    for size in sizes:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidInput(f"adding takes file sizes in bytes (whole numbers), got {size!r}")
    if message_id is not None:
        message = await core.ports.repository.get(message_id)
        if message.channel is not Channel.EMAIL:
            raise InvalidInput(f"message {message_id} is an SMS: it takes no attachments")
    else:  # (an empty e-mail: what any message has besides its body and files)
        message = Message.email(
            sender=core.settings.company_sender,
            recipients=EmailRecipients(to=(EmailAddress("x@example.com"),)),
            subject="",
            text=" ",
            created_by="",
            created_at=core.ports.clock.now(),
        )
    files = [
        Attachment(filename="file", content_type="application/octet-stream", size=s, sha256="")
        for s in sizes
    ]
    counted = attrs.evolve(message, attachments=(*message.attachments, *files))
    limits = core.settings.limits
    encoded = encoded_size(counted)
    attachments_encoded = sum(base64_size(a.size) for a in counted.attachments)
    limit = getattr(core.ports.email_transport, "max_message_size", None)
    rooms = [limits.attachments_bytes - attachments_encoded + _PART]
    if limit is not None:
        rooms.append(limit - encoded)
    fits = (
        attachments_encoded <= limits.attachments_bytes
        and (limit is None or encoded <= limit)
        and len(counted.attachments) <= limits.attachments
    )
    room = _raw_room(min(rooms)) if len(counted.attachments) < limits.attachments else 0
    return EmailSize(encoded, attachments_encoded, limit, limits.attachments_bytes, fits, room)
