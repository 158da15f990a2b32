"""MIME for outgoing e-mails: built when sending, never stored."""

from __future__ import annotations

from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from contos_messaging.domain.addresses import EmailAddress, EmailRecipients
from contos_messaging.domain.text import html_to_text
from contos_messaging.ports.transports import OutgoingEmail

__all__ = ["build_mime"]


def _header_address(address: EmailAddress) -> Address:
    local, _, domain = address.ascii_addr_spec.rpartition("@")
    return Address(display_name=address.display_name, username=local, domain=domain)


def build_mime(email: OutgoingEmail) -> bytes:
    """The RFC 5322 bytes: From, To, Cc (never Bcc), Subject (RFC 2047 for Czech), Date, the
    fixed Message-ID; multipart/alternative of text (generated from the HTML when the message
    has none) and HTML; attachments with RFC 2231 file names."""
    message = email.message
    recipients = message.recipients
    sender = message.sender
    if not isinstance(recipients, EmailRecipients) or not isinstance(sender, EmailAddress):
        raise TypeError("build_mime needs an e-mail message")
    mime = EmailMessage(policy=policy.SMTP)
    mime["From"] = _header_address(sender)
    if recipients.to:
        mime["To"] = [_header_address(a) for a in recipients.to]
    if recipients.cc:
        mime["Cc"] = [_header_address(a) for a in recipients.cc]
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(message.created_at)
    mime["Message-ID"] = message.message_id_header
    text = message.text if message.text is not None else html_to_text(message.html or "")
    mime.set_content(text, subtype="plain", charset="utf-8")
    if message.html:
        mime.add_alternative(message.html, subtype="html", charset="utf-8")
    for attachment, data in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mime.add_attachment(data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return mime.as_bytes()
