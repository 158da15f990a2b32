"""Codec between domain values and the stored form: clear metadata plus a sealed content document.

Decoding trusts what it reads back (it was validated when it was written and the seal
authenticates it), so it builds values without re-running address validation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from contos_messaging.domain.addresses import EmailAddress, EmailRecipients
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, MessageStatus, TemplateRef
from contos_messaging.domain.phones import PhoneNumber, SmsRecipients
from contos_messaging.domain.send_log import AttemptKind, RecipientOutcome, SendAttempt
from contos_messaging.errors import IntegrityError, InvalidMessage, MessageNotFound

__all__ = [
    "CHANNEL_CODE",
    "CODE_CHANNEL",
    "CODE_STATUS",
    "STATUS_CODE",
    "decode_attempt",
    "decode_message",
    "encode_attempt_content",
    "encode_content",
    "from_us",
    "id_bytes",
    "id_text",
    "to_us",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

STATUS_CODE = {
    MessageStatus.DRAFT: "d",
    MessageStatus.QUEUED: "q",
    MessageStatus.SENDING: "w",
    MessageStatus.SENT: "s",
    MessageStatus.PARTIALLY_SENT: "p",
    MessageStatus.DEFERRED: "r",
    MessageStatus.FAILED: "f",
    MessageStatus.EXPIRED: "x",
    MessageStatus.CANCELLED: "c",
    MessageStatus.DELIVERED: "v",
    MessageStatus.UNDELIVERED: "u",
}
"""One-letter status codes stored in the ``status`` column."""
CODE_STATUS = {code: status for status, code in STATUS_CODE.items()}
CHANNEL_CODE = {Channel.EMAIL: "e", Channel.SMS: "s"}
"""One-letter channel codes stored in the ``channel`` column."""
CODE_CHANNEL = {code: channel for channel, code in CHANNEL_CODE.items()}
T = TypeVar("T")


def to_us(value: datetime | None) -> int | None:
    """Microseconds since the epoch."""
    if value is None:
        return None
    delta = value - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int | None) -> datetime | None:
    """The inverse of :func:`to_us`."""
    return None if value is None else EPOCH + timedelta(microseconds=value)


def id_bytes(message_id: str) -> bytes:
    """A message id (UUID text) as 16 bytes; unknown forms are reported as not found."""
    if (
        not isinstance(message_id, str)
        or len(message_id) != 36
        or message_id[8] != "-"
        or message_id[13] != "-"
        or message_id[18] != "-"
        or message_id[23] != "-"
    ):
        raise MessageNotFound(str(message_id))
    try:
        return bytes.fromhex(message_id.replace("-", ""))
    except ValueError:
        raise MessageNotFound(message_id) from None


def id_text(raw: bytes) -> str:
    """16 bytes back to the UUID text."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_new = object.__new__
_set = object.__setattr__


def _trusted(cls: type[T], **fields: Any) -> T:
    obj = _new(cls)
    for name, value in fields.items():
        _set(obj, name, value)
    return obj


def _address(addr_spec: str, display_name: str) -> EmailAddress:
    """An address read back from the store: validated when written, authenticated by the seal."""
    obj = _new(EmailAddress)
    _set(obj, "addr_spec", addr_spec)
    _set(obj, "display_name", display_name)
    return obj


def _link(kind: str, entity_id: str) -> LinkedEntity:
    obj = _new(LinkedEntity)
    _set(obj, "kind", kind)
    _set(obj, "id", entity_id)
    return obj


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(doc: object) -> bytes:
    return _ENCODER.encode(doc).encode("utf-8")


# Content format 3: UTF-8 text fields separated by NUL (no stored field can contain NUL: the
# domain rejects it in texts and every control character in addresses, names and ids).
#
#   "3" | flags | subject | Message-ID domain (or the whole Message-ID) | sender address | name |
#   count and items of to, cc, bcc (address, name) or of numbers | links (kind, id) |
#   attachments (filename, type, size, sha256) | html | text
#
# flags: "h" when there is HTML, "t" when there is text, "m" when the Message-ID is stored whole.
_SEP = "\x00"
_FORMAT = "3"


def encode_content(message: Message) -> bytes:
    """The personal part of a message in the stored form (sealed by the caller)."""
    flags = ""
    if message.html is not None:
        flags += "h"
    if message.text is not None:
        flags += "t"
    expected = f"<{message.id}@"
    header = message.message_id_header
    if header.startswith(expected) and header.endswith(">"):
        mid = header[len(expected) : -1]  # the id part is the message id itself
    else:
        flags += "m"
        mid = header
    fields = [_FORMAT, flags, message.subject, mid]
    sender = message.sender
    if isinstance(sender, EmailAddress):
        fields += [sender.addr_spec, sender.display_name]
    else:
        fields += [sender, ""]
    recipients = message.recipients
    if isinstance(recipients, EmailRecipients):
        for group in (recipients.to, recipients.cc, recipients.bcc):
            fields.append(str(len(group)))
            for address in group:
                fields += [address.addr_spec, address.display_name]
    else:
        fields.append(str(len(recipients.numbers)))
        fields += [number.e164 for number in recipients.numbers]
    fields.append(str(len(message.links)))
    for link in message.links:
        fields += [link.kind, link.id]
    fields.append(str(len(message.attachments)))
    for a in message.attachments:
        fields += [a.filename, a.content_type, str(a.size), a.sha256]
    fields += [message.html or "", message.text or ""]
    joined = _SEP.join(fields)
    if joined.count(_SEP) != len(fields) - 1:
        bad = next(field for field in fields if _SEP in field)
        raise InvalidMessage(
            "content", f"message {message.id} holds a NUL character in {bad[:40]!r}"
        )
    return joined.encode("utf-8")


_Content = tuple[
    str,
    str,
    EmailAddress | str,
    EmailRecipients | SmsRecipients,
    tuple[LinkedEntity, ...],
    tuple[Attachment, ...],
    str | None,
    str | None,
]


def _addresses(fields: list[str], pos: int, count: int) -> tuple[EmailAddress, ...]:
    if count == 1:
        return (_address(fields[pos], fields[pos + 1]),)
    return tuple([_address(fields[pos + 2 * i], fields[pos + 2 * i + 1]) for i in range(count)])


def _decode_content(channel: str, content: bytes, message_id: str) -> _Content:
    fields = content.decode("utf-8").split(_SEP)
    if fields[0] != _FORMAT:
        raise IntegrityError(f"message:{message_id}", f"unknown content format {fields[0]!r}")
    flags, subject, mid = fields[1], fields[2], fields[3]
    header = mid if "m" in flags else f"<{message_id}@{mid}>"
    pos = 6
    sender: EmailAddress | str
    recipients: EmailRecipients | SmsRecipients
    if channel == "e":
        sender = _address(fields[4], fields[5])
        groups: list[tuple[EmailAddress, ...]] = []
        for _ in range(3):
            count = int(fields[pos])
            groups.append(_addresses(fields, pos + 1, count) if count else ())
            pos += 1 + 2 * count
        recipients = EmailRecipients(groups[0], groups[1], groups[2])
    else:
        sender = fields[4]
        count = int(fields[pos])
        pos += 1
        recipients = SmsRecipients(
            tuple([_trusted(PhoneNumber, e164=fields[pos + i]) for i in range(count)])
        )
        pos += count
    count = int(fields[pos])
    pos += 1
    links = tuple([_link(fields[pos + 2 * i], fields[pos + 2 * i + 1]) for i in range(count)])
    pos += 2 * count
    count = int(fields[pos])
    pos += 1
    attachments: tuple[Attachment, ...] = ()
    if count:
        attachments = tuple(
            [
                _trusted(
                    Attachment,
                    filename=fields[pos + 4 * i],
                    content_type=fields[pos + 4 * i + 1],
                    size=int(fields[pos + 4 * i + 2]),
                    sha256=fields[pos + 4 * i + 3],
                    source=None,
                )
                for i in range(count)
            ]
        )
        pos += 4 * count
    html = fields[pos] if "h" in flags else None
    text = fields[pos + 1] if "t" in flags else None
    return subject, header, sender, recipients, links, attachments, html, text


def _time(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)


def decode_message(row: Sequence[Any], content: bytes) -> Message:
    """Build a message from a metadata row (see ``COLUMNS`` in the repository: every column but
    the key scope and the content, which was opened into ``content``) and its content."""
    message_id = id_text(row[0])
    channel = row[1]
    subject, header, sender, recipients, links, attachments, html, text = _decode_content(
        channel, content, message_id
    )
    created = EPOCH + timedelta(microseconds=row[4])
    updated_at, template_name = row[5], row[11]
    return Message(
        message_id,
        CODE_CHANNEL[channel],
        CODE_STATUS[row[2]],
        sender,
        recipients,
        subject,
        html,
        text,
        attachments,
        links,
        None if template_name is None else TemplateRef(template_name, row[12]),
        row[3],
        created,
        created if updated_at is None else EPOCH + timedelta(microseconds=updated_at),
        _time(row[6]),
        _time(row[7]),
        _time(row[8]),
        row[9],
        row[10],
        header,
        row[15],
        _time(row[16]),
        _time(row[17]),
    )


def encode_attempt_content(attempt: SendAttempt) -> bytes:
    """The personal part of a send-log entry: per-recipient replies and the error text."""
    return _dumps(
        {
            "r": [
                [r.recipient, r.accepted, r.code, r.reply, r.temporary]
                + ([r.provider_id] if r.provider_id else [])
                for r in attempt.recipients
            ],
            "e": attempt.error,
        }
    )


def decode_attempt(row: tuple[Any, ...], content: bytes) -> SendAttempt:
    """Build a send-log entry from its row and content."""
    (
        attempt_id,
        raw_message_id,
        version,
        attempt_no,
        kind,
        actor_id,
        transport,
        started,
        finished,
        outcome,
        queued_by,
        queued_at,
        worker,
    ) = row
    doc = json.loads(content)
    return SendAttempt(
        id=attempt_id,
        message_id=id_text(raw_message_id),
        message_version=version,
        attempt_no=attempt_no,
        kind=AttemptKind(kind),
        actor_id=actor_id,
        transport=transport,
        started_at=from_us(started) or EPOCH,
        finished_at=from_us(finished) or EPOCH,
        outcome=MessageStatus(outcome),
        recipients=tuple(RecipientOutcome(*r) for r in doc["r"]),
        error=doc["e"],
        queued_by=queued_by,
        queued_at=from_us(queued_at),
        worker=worker,
    )
