"""How large an e-mail will be on the wire, known from its metadata before any attachment is
read: the check against a transport's size limit happens before content is loaded."""

from __future__ import annotations

from contos_messaging.domain.addresses import EmailRecipients
from contos_messaging.domain.message import Message

__all__ = ["base64_size", "encoded_size"]

# Date, Message-ID, MIME-Version and the multipart headers, with room to spare.
_HEADERS = 1024
# Content-Type, Content-Transfer-Encoding, Content-Disposition and the boundary of one part.
_PART = 320


def base64_size(size: int) -> int:
    """Bytes of ``size`` bytes in base64 with lines of 76 characters ended by CRLF."""
    chars = 4 * ((size + 2) // 3)
    return chars + 2 * ((chars + 75) // 76)


def encoded_size(message: Message) -> int:
    """An upper bound of the size of the message's RFC 5322 form, in bytes (never below it by
    more than a few bytes of headers; attachments and bodies are counted exactly as base64).
    For an SMS: the size of its text in UTF-8."""
    if not isinstance(message.recipients, EmailRecipients):
        return len((message.text or "").encode("utf-8", "surrogatepass"))
    size = _HEADERS + 2 * len(message.subject.encode("utf-8", "surrogatepass")) + 64
    recipients = message.recipients
    for address in (message.sender, *recipients.to, *recipients.cc):
        if not isinstance(address, str):
            size += 2 * len(address.display_name.encode("utf-8", "surrogatepass"))
            size += len(address.addr_spec.encode("utf-8", "surrogatepass")) * 2 + 16
    html = (message.html or "").encode("utf-8", "surrogatepass")
    # The text part is generated from the HTML when there is none; it is never longer.
    text = message.text.encode("utf-8", "surrogatepass") if message.text is not None else html
    size += _PART + base64_size(len(text))
    if message.html:
        size += _PART + base64_size(len(html))
    for attachment in message.attachments:
        size += _PART + 3 * len(attachment.filename.encode("utf-8")) + 64
        size += base64_size(attachment.size)
    return size
