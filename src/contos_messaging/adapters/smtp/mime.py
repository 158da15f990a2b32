"""MIME for outgoing e-mails: built when sending, never stored, and streamed.

The message is written here, not by ``email.generator`` (whose header folding cost more than
the rest of a send): every text is base64 in UTF-8, every header value that is not plain ASCII
(or that looks like an RFC 2047 encoded word, so a reader would decode it into something the
user never typed) is written as encoded words of whole characters, folded so that no line
exceeds 78 characters. Each attachment's part holds a placeholder that is replaced, on the way
out, by the attachment's base64 in chunks of about 1.2 MB: sending a message with a 25 MB
attachment holds the attachment once and one chunk of its encoding.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator
from email.utils import encode_rfc2231, format_datetime, quote

import attrs

from contos_messaging.domain.addresses import EmailAddress, EmailRecipients
from contos_messaging.domain.mime_size import base64_size
from contos_messaging.domain.text import html_to_text
from contos_messaging.errors import InvalidMessage
from contos_messaging.ports.transports import OutgoingEmail

__all__ = ["MimeStream", "build_mime", "encode_words", "mime_stream"]

# Raw bytes per chunk: a multiple of 57, so every chunk ends on a whole 76-character line.
_CHUNK = 57 * 16384
# UTF-8 bytes per encoded word: "=?utf-8?b?" + 52 base64 characters + "?=" is 64 characters,
# so even the first line ("Subject: " or a display name after "To: ") stays under 78.
_WORD_BYTES = 39
# Characters that make a display name need quoting (RFC 5322 specials and the space).
_SPECIALS = frozenset('()<>[]:;@\\,."')
# RFC 5322 atext: a word of these needs neither quoting nor encoding.
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")


def _plain(value: str) -> bool:
    """Whether a header value can go as it is: printable ASCII, no encoded-word lookalike, no
    whitespace a reader would fold away, short enough for one line."""
    return (
        value.isascii()
        and value.isprintable()
        and "=?" not in value
        and "  " not in value
        and value == value.strip()
        and len(value) <= 900
    )


def encode_words(value: str) -> list[str]:
    """``value`` as RFC 2047 "B" encoded words in UTF-8, each holding whole characters (a
    character is never split between two words) and at most 64 characters long."""
    words: list[str] = []
    chunk = bytearray()
    for char in value:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > _WORD_BYTES:
            words.append(_word(bytes(chunk)))
            chunk.clear()
        chunk += encoded
    if chunk or not words:
        words.append(_word(bytes(chunk)))
    return words


def _word(data: bytes) -> str:
    return "=?utf-8?b?" + base64.b64encode(data).decode("ascii") + "?="


def _text_header(value: str) -> str:
    """An unstructured header value (Subject): as it is when plain, else folded encoded words."""
    return value if _plain(value) else "\r\n ".join(encode_words(value))


def _address(address: EmailAddress) -> str:
    spec = address.ascii_addr_spec
    name = address.display_name
    if not name:
        return spec
    if _plain(name):
        phrase = f'"{quote(name)}"' if _SPECIALS.intersection(name) or " " in name else name
        return f"{phrase} <{spec}>"
    return "\r\n ".join(_phrase_words(name)) + f"\r\n <{spec}>"


def _phrase_words(name: str) -> list[str]:
    """A display name (single spaces, as the domain keeps it) as RFC 2047 phrase words: plain
    atoms stay as they are; each run of other words becomes one encoded word holding its
    spaces, because a reader drops the space between two encoded words (RFC 2047, 6.2) while
    Python's parser adds one: a single word per run reads back the same in both. A run too
    long for one line (over 600 bytes of UTF-8) is split into several words."""
    words: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            data = " ".join(run)
            words.extend([_word(data.encode("utf-8"))] if len(data.encode("utf-8")) <= 600
                         else encode_words(data))  # fmt: skip
            run.clear()

    for token in name.split(" "):
        if _ATEXT.fullmatch(token) and "=?" not in token:
            flush()
            words.append(token)
        else:
            run.append(token)
    flush()
    return words


def _header_block(headers: list[tuple[str, str]]) -> bytes:
    return "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")


def _base64_lines(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _text_part(text: str, subtype: str) -> bytes:
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode("ascii") + _base64_lines(text.encode("utf-8"))


def _multipart(subtype: str, parts: list[list[bytes | memoryview]]) -> list[bytes | memoryview]:
    """A multipart entity's pieces (headers, then each part between boundaries). The boundary
    cannot occur in base64, so it needs no check against the content."""
    boundary = "=_contos_" + secrets.token_hex(16)
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    pieces: list[bytes | memoryview] = [
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode("ascii")
    ]
    for part in parts:
        pieces.append(delimiter[2:] if len(pieces) == 1 else delimiter)
        pieces += part
    pieces.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return pieces


def _attachment_part(filename: str, content_type: str, data: bytes) -> list[bytes | memoryview]:
    if filename.isascii() and filename.isprintable():
        disposition = f'attachment; filename="{quote(filename)}"'
    else:
        disposition = "attachment;\r\n filename*=" + encode_rfc2231(filename, "utf-8")
    head = (
        f"Content-Type: {content_type}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: {disposition}\r\n\r\n"
    ).encode("ascii")
    return [head, memoryview(data)]


def _encoded_chunks(view: memoryview) -> Iterator[bytes]:
    """``view`` as base64 lines of 76 characters ended by CRLF, chunk by chunk (the last line
    without its CRLF: the boundary that follows brings one)."""
    for start in range(0, len(view), _CHUNK):
        chunk = _base64_lines(view[start : start + _CHUNK])  # type: ignore[arg-type]
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
    """The message as a :class:`MimeStream`: From, To, Cc (never Bcc), Subject, Date, the
    fixed Message-ID; the text (generated from the HTML when the message has none), with the
    HTML as multipart/alternative; attachments in multipart/mixed with RFC 2231 file names."""
    message = email.message
    recipients = message.recipients
    sender = message.sender
    if not isinstance(recipients, EmailRecipients) or not isinstance(sender, EmailAddress):
        raise InvalidMessage("channel", "only an e-mail message has a MIME form")
    text = message.text if message.text is not None else html_to_text(message.html or "")
    body: list[bytes | memoryview] = [_text_part(text, "plain")]
    if message.html:
        body = _multipart("alternative", [body, [_text_part(message.html, "html")]])
    if email.attachments:
        parts = [body] + [
            _attachment_part(attachment.filename, attachment.content_type, data)
            for attachment, data in email.attachments
        ]
        body = _multipart("mixed", parts)
    headers = [("From", _address(sender))]
    if recipients.to:
        headers.append(("To", ",\r\n ".join(_address(a) for a in recipients.to)))
    if recipients.cc:
        headers.append(("Cc", ",\r\n ".join(_address(a) for a in recipients.cc)))
    headers += [
        ("Subject", _text_header(message.subject)),
        ("Date", format_datetime(message.created_at)),
        ("Message-ID", message.message_id_header),
        ("MIME-Version", "1.0"),
    ]
    return MimeStream((_header_block(headers), *body))


def build_mime(email: OutgoingEmail) -> bytes:
    """The RFC 5322 bytes of an e-mail in one piece (see :func:`mime_stream`)."""
    return b"".join(mime_stream(email).chunks())
