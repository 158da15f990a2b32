"""MIME for outgoing e-mails: built when sending, never stored, and streamed.

Headers and the text and HTML parts are built with the classic ``email.mime`` classes (several
times cheaper than ``EmailMessage``); each attachment's part holds a placeholder that is
replaced, on the way out, by the attachment's base64 in chunks of about 1.2 MB. So sending a
message with a 25 MB attachment holds the attachment once and one chunk of its encoding, not
three or four encoded copies of the whole message.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator
from email import policy
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr

import attrs

from contos_messaging.domain.addresses import EmailAddress, EmailRecipients
from contos_messaging.domain.mime_size import base64_size
from contos_messaging.domain.text import html_to_text
from contos_messaging.errors import InvalidMessage
from contos_messaging.ports.transports import OutgoingEmail

__all__ = ["MimeStream", "build_mime", "mime_stream"]

_WIRE = policy.compat32.clone(linesep="\r\n")
# Raw bytes per chunk: a multiple of 57, so every chunk ends on a whole 76-character line.
_CHUNK = 57 * 16384
_LEADING_DOT = re.compile(rb"(?m)^\.")


def _address(address: EmailAddress) -> str:
    return formataddr((address.display_name, address.ascii_addr_spec), charset="utf-8")


def _header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _encoded_chunks(view: memoryview) -> Iterator[bytes]:
    """``view`` as base64 lines of 76 characters ended by CRLF, chunk by chunk (the last line
    without its CRLF: the boundary that follows brings one)."""
    for start in range(0, len(view), _CHUNK):
        chunk = base64.encodebytes(view[start : start + _CHUNK]).replace(b"\n", b"\r\n")
        yield chunk[:-2] if start + _CHUNK >= len(view) else chunk


@attrs.frozen
class MimeStream:
    """An e-mail's RFC 5322 bytes as a sequence of pieces: ``size`` is exact, :meth:`chunks`
    yields them (CRLF line ends, no line starting with a dot, ready for DATA)."""

    pieces: tuple[bytes | memoryview, ...]
    """Literal bytes, or an attachment's raw content (a memoryview) to be base64-encoded."""

    @property
    def size(self) -> int:
        """The number of bytes :meth:`chunks` yields."""
        total = 0
        for piece in self.pieces:
            if isinstance(piece, memoryview):
                total += max(0, base64_size(len(piece)) - 2)
            else:
                total += len(piece)
        return total

    def chunks(self) -> Iterator[bytes]:
        """The message, piece by piece (attachments encoded about 1.2 MB at a time)."""
        for piece in self.pieces:
            if isinstance(piece, memoryview):
                yield from _encoded_chunks(piece)
            elif piece:
                yield piece


def mime_stream(email: OutgoingEmail) -> MimeStream:
    """The message as a :class:`MimeStream`: From, To, Cc (never Bcc), Subject (RFC 2047 for
    Czech), Date, the fixed Message-ID; multipart/alternative of text (generated from the HTML
    when the message has none) and HTML; attachments with RFC 2231 file names."""
    message = email.message
    recipients = message.recipients
    sender = message.sender
    if not isinstance(recipients, EmailRecipients) or not isinstance(sender, EmailAddress):
        raise InvalidMessage("channel", "only an e-mail message has a MIME form")
    text = message.text if message.text is not None else html_to_text(message.html or "")
    body: MIMEBase = MIMEText(text, "plain", "utf-8")
    if message.html:
        alternative = MIMEMultipart("alternative")
        alternative.attach(body)
        alternative.attach(MIMEText(message.html, "html", "utf-8"))
        body = alternative
    marks: list[bytes] = []
    if email.attachments:
        mixed = MIMEMultipart("mixed")
        mixed.attach(body)
        for attachment, _data in email.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            part = MIMEBase(maintype, subtype)
            mark = f"contos-attachment-{secrets.token_hex(12)}"
            marks.append(mark.encode("ascii"))
            part.set_payload(mark)
            part["Content-Transfer-Encoding"] = "base64"
            name = attachment.filename
            part.add_header(
                "Content-Disposition", "attachment",
                filename=name if name.isascii() else ("utf-8", "", name),
            )  # fmt: skip
            mixed.attach(part)
        body = mixed
    body["From"] = _address(sender)
    if recipients.to:
        body["To"] = ", ".join(_address(a) for a in recipients.to)
    if recipients.cc:
        body["Cc"] = ", ".join(_address(a) for a in recipients.cc)
    body["Subject"] = _header(message.subject)
    body["Date"] = format_datetime(message.created_at)
    body["Message-ID"] = message.message_id_header
    skeleton = _LEADING_DOT.sub(b"..", body.as_bytes(policy=_WIRE))
    pieces: list[bytes | memoryview] = []
    rest = skeleton
    for placeholder, (_attachment, data) in zip(marks, email.attachments, strict=True):
        before, rest = rest.split(placeholder, 1)
        pieces += [before, memoryview(data)]
    pieces.append(rest if rest.endswith(b"\r\n") else rest + b"\r\n")
    return MimeStream(tuple(pieces))


def build_mime(email: OutgoingEmail) -> bytes:
    """The RFC 5322 bytes of an e-mail in one piece (see :func:`mime_stream`)."""
    return b"".join(mime_stream(email).chunks())
