"""Messages the contract suites store, index and send."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from contos_messaging.domain.addresses import EmailRecipients, parse_address
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Message, TemplateRef
from contos_messaging.domain.phones import SmsRecipients, parse_phone_list

__all__ = ["email", "sms"]

C1 = LinkedEntity.client("C-1")


def email(
    at: datetime,
    *,
    links: tuple[LinkedEntity, ...] = (C1,),
    to: str = "Jan Novák <jan@example.com>",
    cc: str = "",
    bcc: str = "",
    subject: str = "Vyúčtování provizí",
    text: str = "Dobrý den, posíláme vyúčtování.",
    attachments: Iterable[Attachment] = (),
    created_by: str = "jana",
    scheduled_at: datetime | None = None,
    template: TemplateRef | None = None,
) -> Message:
    """An e-mail from ContOS to ``to`` (and ``cc``, ``bcc``), linked to client C-1."""
    return Message.email(
        sender=parse_address("ContOS <info@contos.example.com>"),
        recipients=EmailRecipients.parse(to, cc, bcc),
        subject=subject,
        text=text,
        attachments=attachments,
        links=links,
        created_by=created_by,
        created_at=at,
        scheduled_at=scheduled_at,
        template=template,
    )


def sms(
    at: datetime,
    *,
    links: tuple[LinkedEntity, ...] = (C1,),
    to: str = "+420601123456",
) -> Message:
    """An SMS from ContOS to ``to`` (numbers separated by commas), linked to client C-1."""
    return Message.sms(
        sender="ContOS",
        recipients=SmsRecipients(parse_phone_list(to)),
        text="Objednávka je připravena.",
        links=links,
        created_by="jana",
        created_at=at,
        message_id_domain="contos.example.com",
    )
