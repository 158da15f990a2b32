"""MIME for outgoing e-mails: built when sending, never stored."""

from __future__ import annotations

from email import encoders, policy
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr

from contos_messaging.domain.addresses import EmailAddress, EmailRecipients
from contos_messaging.domain.text import html_to_text
from contos_messaging.ports.transports import OutgoingEmail

__all__ = ["build_mime"]

_WIRE = policy.compat32.clone(linesep="\r\n")


def _address(address: EmailAddress) -> str:
    return formataddr((address.display_name, address.ascii_addr_spec), charset="utf-8")


def _header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def build_mime(email: OutgoingEmail) -> bytes:
    """The RFC 5322 bytes: From, To, Cc (never Bcc), Subject (RFC 2047 for Czech), Date, the
    fixed Message-ID; multipart/alternative of text (generated from the HTML when the message
    has none) and HTML; attachments with RFC 2231 file names.

    Built with the classic ``email.mime`` classes, several times cheaper than
    ``EmailMessage``: this runs once per sent e-mail.
    """
    message = email.message
    recipients = message.recipients
    sender = message.sender
    if not isinstance(recipients, EmailRecipients) or not isinstance(sender, EmailAddress):
        raise TypeError("build_mime needs an e-mail message")
    text = message.text if message.text is not None else html_to_text(message.html or "")
    body: MIMEBase = MIMEText(text, "plain", "utf-8")
    if message.html:
        alternative = MIMEMultipart("alternative")
        alternative.attach(body)
        alternative.attach(MIMEText(message.html, "html", "utf-8"))
        body = alternative
    if email.attachments:
        mixed = MIMEMultipart("mixed")
        mixed.attach(body)
        for attachment, data in email.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            part = MIMEBase(maintype, subtype)
            part.set_payload(data)
            encoders.encode_base64(part)
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
    return body.as_bytes(policy=_WIRE)
