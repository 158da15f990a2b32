"""MIME for outgoing e-mails: built when sending, never stored, and streamed.

The message is written here, not by ``email.generator`` (whose header folding cost more than
the rest of a send): every text is base64 in UTF-8, every header value that is not plain ASCII
(or that looks like an RFC 2047 encoded word, so a reader would decode it into something the
user never typed) is written as encoded words of whole characters, and every header is folded
at its white space so that no line exceeds 78 characters unless it is one token that cannot
be folded (never over 998). Read back by Python's parser (``policy.default`` or ``compat32``),
each header gives exactly the composed value. Each attachment's part holds a placeholder that
is replaced, on the way out, by the attachment's base64 in chunks of about 1.2 MB: sending a
message with a 25 MB attachment holds the attachment once and one chunk of its encoding.
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
# Characters that make a display name need quoting (RFC 5322 specials).
_SPECIALS = frozenset('()<>[]:;@\\,."')
# Line lengths (RFC 5322, 2.1.1): folded to 78 where folding allows, never over 998.
_LINE = 78
_MAX_LINE = 998
# Characters of one section of a percent-encoded RFC 2231 file name (with its
# " filename*NN*=" and ";", a line of at most 76).
_SECTION = 60
# RFC 5322 atext: a word of these needs neither quoting nor encoding.
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")


def _plain_words(value: str, first: int) -> list[str] | None:
    """``value``'s words when it can go as it is: printable ASCII, no encoded-word lookalike,
    no whitespace a reader would fold away, no word too long for a line of 998 (``first``
    characters of the first line are taken); else None."""
    if not (value.isascii() and value.isprintable()) or "=?" in value:
        return None
    words = value.split(" ")
    if "" in words and value:  # a space at an end or two in a row: a reader would drop them
        return None
    if first + len(words[0]) > _MAX_LINE or max(map(len, words)) >= _MAX_LINE:
        return None
    return words


def _fold(first: int, tokens: list[str]) -> str:
    """Tokens separated by one folding white space each, packed onto lines of at most 78
    characters (``first`` characters of the first line are taken by the header's name): a
    token that does not fit starts a new line; one longer than a line stands alone on it. The
    first token always stays on the first line, so the value never starts with a fold."""
    out = [tokens[0]]
    width = first + len(tokens[0])
    for token in tokens[1:]:
        if width + 1 + len(token) <= _LINE:
            out.append(" ")
            width += 1 + len(token)
        else:
            out.append("\r\n ")
            width = 1 + len(token)
        out.append(token)
    return "".join(out)


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


def _text_header(name: str, value: str) -> str:
    """An unstructured header value (Subject): its words as they are when plain, else encoded
    words (between which a reader adds nothing), folded in both cases."""
    first = len(name) + 2
    words = _plain_words(value, first)
    return _fold(first, words if words is not None else encode_words(value))


def _address_header(name: str, addresses: tuple[EmailAddress, ...]) -> str:
    """An address list header value: the addresses' tokens, separated by commas, folded."""
    tokens: list[str] = []
    for address in addresses:
        if tokens:
            tokens[-1] += ","
        tokens += _address_tokens(address)
    return _fold(len(name) + 2, tokens)


def _address_tokens(address: EmailAddress) -> list[str]:
    """One address as the tokens of its header form (the header shows the envelope's address,
    punycode domain): plain display names as they are (quoted when they hold specials; the
    quoted string folds at its spaces, which unfolding keeps), others as phrase words."""
    spec = address.ascii_addr_spec
    name = address.display_name
    if not name:
        return [spec]
    words = _plain_words(name, 0)
    if words is None:
        return [*_phrase_words(name), f"<{spec}>"]
    if _SPECIALS.intersection(name):
        words = f'"{quote(name)}"'.split(" ")
    return [*words, f"<{spec}>"]


def _phrase_words(name: str) -> list[str]:
    """A display name (single spaces, as the domain keeps it) as RFC 5322 phrase words: atoms
    stay as they are, other printable ASCII words become quoted strings, and each run of the
    remaining words (non-ASCII, or like an encoded word) becomes one RFC 2047 encoded word
    holding its spaces, because readers disagree on the space between two encoded words in a
    phrase (RFC 2047, 6.2 says none; Python's parser adds one): one word per run reads back
    the same in both. Such a word is longer than 75 characters when the run is long; the
    domain bounds a display name's UTF-8 (``MAX_DISPLAY_NAME_BYTES``), so it fits a line."""
    words: list[str] = []
    run: list[str] = []
    for token in name.split(" "):
        if "=?" in token or not (token.isascii() and token.isprintable()):
            run.append(token)
            continue
        if run:
            words.append(_word(" ".join(run).encode("utf-8")))
            run.clear()
        words.append(token if _ATEXT.fullmatch(token) else f'"{quote(token)}"')
    if run:
        words.append(_word(" ".join(run).encode("utf-8")))
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
        f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"\r\n\r\n'.encode("ascii")
    ]
    for part in parts:
        pieces.append(delimiter[2:] if len(pieces) == 1 else delimiter)
        pieces += part
    pieces.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return pieces


def _attachment_part(filename: str, content_type: str, data: bytes) -> list[bytes | memoryview]:
    head = (
        f"Content-Type: {content_type}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment;\r\n {_filename_parameter(filename)}\r\n\r\n"
    ).encode("ascii")
    return [head, memoryview(data)]


def _filename_parameter(filename: str) -> str:
    """``filename="..."`` when the name is printable ASCII that fits a line and that no reader
    would decode (an encoded-word lookalike would be); else RFC 2231 ``filename*0*=utf-8''...``
    (``filename*=`` when it fits one) in percent-encoded sections of at most 60 characters, one
    per line (RFC 2231, 3-4)."""
    if filename.isascii() and filename.isprintable() and "=?" not in filename:
        plain = f'filename="{quote(filename)}"'
        if len(plain) < _LINE:
            return plain
    encoded = encode_rfc2231(filename, "utf-8")
    sections: list[str] = []
    start = 0
    while start < len(encoded):
        end = min(start + _SECTION, len(encoded))
        percent = encoded.rfind("%", end - 2, end)  # never split a %XX triple
        if percent != -1 and end < len(encoded):
            end = percent
        sections.append(encoded[start:end])
        start = end
    if len(sections) == 1:
        return f"filename*={encoded}"
    return ";\r\n ".join(f"filename*{n}*={section}" for n, section in enumerate(sections))


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


def mime_stream(email: OutgoingEmail, *, bcc: bool = False) -> MimeStream:
    """The message as a :class:`MimeStream`: From, To, Cc (Bcc only with ``bcc``: never when
    sending), Subject, Date, the fixed Message-ID; the text (generated from the HTML when the
    message has none), with the HTML as multipart/alternative; attachments in multipart/mixed
    with RFC 2231 file names."""
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
    headers = [("From", _address_header("From", (sender,)))]
    if recipients.to:
        headers.append(("To", _address_header("To", recipients.to)))
    if recipients.cc:
        headers.append(("Cc", _address_header("Cc", recipients.cc)))
    if bcc and recipients.bcc:
        headers.append(("Bcc", _address_header("Bcc", recipients.bcc)))
    headers += [
        ("Subject", _text_header("Subject", message.subject)),
        ("Date", format_datetime(message.created_at)),
        ("Message-ID", message.message_id_header),
        ("MIME-Version", "1.0"),
    ]
    return MimeStream((_header_block(headers), *body))


def build_mime(email: OutgoingEmail, *, bcc: bool = False) -> bytes:
    """The RFC 5322 bytes of an e-mail in one piece (see :func:`mime_stream`)."""
    return b"".join(mime_stream(email, bcc=bcc).chunks())
