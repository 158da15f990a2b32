"""Builders of domain objects for tests."""

from __future__ import annotations

from datetime import datetime

from contos_messaging import (
    EmailRecipients,
    LinkedEntity,
    Message,
    SmsRecipients,
    TemplateRef,
    parse_address,
)
from contos_messaging.domain.phones import parse_phone_list


def email(
    at: datetime,
    *,
    links: tuple[LinkedEntity, ...] = (LinkedEntity.client("C-1"),),
    to: str = "Jan Novák <jan@example.com>",
    subject: str = "Vyúčtování provizí",
    text: str = "Dobrý den, posíláme vyúčtování.",
    created_by: str = "jana",
    scheduled_at: datetime | None = None,
    template: TemplateRef | None = None,
) -> Message:
    return Message.email(
        sender=parse_address("ContOS <info@contos.example.com>"),
        recipients=EmailRecipients.parse(to),
        subject=subject,
        text=text,
        links=links,
        created_by=created_by,
        created_at=at,
        scheduled_at=scheduled_at,
        template=template,
    )


def sms(
    at: datetime, *, links: tuple[LinkedEntity, ...] = (LinkedEntity.client("C-1"),)
) -> Message:
    return Message.sms(
        sender="ContOS",
        recipients=SmsRecipients(parse_phone_list("+420601123456")),
        text="Objednávka je připravena.",
        links=links,
        created_by="jana",
        created_at=at,
        message_id_domain="contos.example.com",
    )
