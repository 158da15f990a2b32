"""The message entity and its channel; its status and the transitions between statuses live in
:mod:`contos_messaging.domain.status` and are re-exported here."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime

import attrs

from contos_messaging.domain.addresses import EmailAddress, EmailRecipients
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.ids import new_message_id_header, uuid7
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.phones import SmsRecipients
from contos_messaging.domain.sms import SmsEncoding, analyse_sms, check_sms_control_characters
from contos_messaging.domain.status import TRANSITIONS, MessageStatus
from contos_messaging.domain.text import html_to_text
from contos_messaging.errors import IllegalTransition, InvalidMessage

__all__ = ["Channel", "Message", "MessageStatus", "TemplateRef"]

MAX_SUBJECT_CHARS = 998
MAX_SMS_SENDER_CHARS = 11


class Channel(enum.StrEnum):
    """How a message travels."""

    EMAIL = "email"
    SMS = "sms"


_S = MessageStatus
_ACCEPTED = frozenset({_S.SENT, _S.PARTIALLY_SENT})


@attrs.frozen
class TemplateRef:
    """The template (name and version) a message was rendered from."""

    name: str
    version: int


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidMessage("time", f"{value!r} has no time zone; pass an aware datetime")
    return value.astimezone(UTC)


def _required(value: datetime) -> datetime:
    aware = _aware(value)
    if aware is None:
        raise InvalidMessage("time", "a time is required")
    return aware


def _check_links(links: Iterable[LinkedEntity]) -> tuple[LinkedEntity, ...]:
    out: list[LinkedEntity] = []
    for link in links:
        if not isinstance(link, LinkedEntity):
            raise InvalidMessage("links", f"{link!r} is not a LinkedEntity")
        if link not in out:
            out.append(link)
    return tuple(out)


def _check_text(field: str, value: str | None, *, max_chars: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidMessage(field, f"must be text, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidMessage(field, "contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidMessage(
                field, f"contains a lone surrogate (U+{ord(value[exc.start]):04X}), not text"
            ) from None
    if max_chars is not None and len(value) > max_chars:
        raise InvalidMessage(field, f"is longer than {max_chars} characters")
    return value


@attrs.frozen
class Message:
    """One e-mail or SMS, with its content, its links and its place in the sending life cycle.

    Create one with :meth:`email` or :meth:`sms`; change it with :meth:`transition` and
    :meth:`edited`, which return new objects.
    """

    id: str
    channel: Channel
    status: MessageStatus
    sender: EmailAddress | str
    recipients: EmailRecipients | SmsRecipients
    subject: str
    html: str | None
    text: str | None
    attachments: tuple[Attachment, ...]
    links: tuple[LinkedEntity, ...]
    template: TemplateRef | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    scheduled_at: datetime | None
    expires_at: datetime | None
    next_attempt_at: datetime | None
    attempts: int
    version: int
    message_id_header: str
    queued_by: str | None = None
    """Who queued the message for sending (composed it scheduled, generated it in bulk, or
    pressed send); the outbox records it in every attempt."""
    queued_at: datetime | None = None
    """When it was queued for sending."""
    sent_at: datetime | None = None
    """When the server last accepted it (the end of the latest attempt that left it ``SENT``
    or ``PARTIALLY_SENT``); ``None`` until then.

    .. versionadded:: 0.5
    """

    # -- named constructors -------------------------------------------------------------------

    @classmethod
    def email(
        cls,
        *,
        sender: EmailAddress,
        recipients: EmailRecipients,
        subject: str,
        html: str | None = None,
        text: str | None = None,
        attachments: Iterable[Attachment] = (),
        links: Iterable[LinkedEntity] = (),
        created_by: str,
        created_at: datetime,
        template: TemplateRef | None = None,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> Message:
        """A new e-mail: ``DRAFT``, or ``QUEUED`` when ``scheduled_at`` is given."""
        if not isinstance(sender, EmailAddress):
            raise InvalidMessage("sender", "an e-mail sender must be an EmailAddress")
        if not isinstance(recipients, EmailRecipients) or len(recipients) == 0:
            raise InvalidMessage("recipients", "an e-mail needs at least one recipient")
        subject = _check_text("subject", subject, max_chars=MAX_SUBJECT_CHARS) or ""
        if any(ch in subject for ch in "\r\n"):
            raise InvalidMessage("subject", "must be one line (no CR or LF)")
        html = _check_text("html", html)
        text = _check_text("text", text)
        if not (html or text):
            raise InvalidMessage("body", "an e-mail needs an HTML or a text body")
        return cls._new(
            Channel.EMAIL,
            sender=sender,
            recipients=recipients,
            subject=subject,
            html=html,
            text=text,
            attachments=tuple(attachments),
            links=links,
            template=template,
            created_by=created_by,
            created_at=created_at,
            scheduled_at=scheduled_at,
            expires_at=expires_at,
            message_id_domain=sender.ascii_addr_spec.rsplit("@", 1)[1],
        )

    @classmethod
    def sms(
        cls,
        *,
        sender: str,
        recipients: SmsRecipients,
        text: str,
        links: Iterable[LinkedEntity] = (),
        created_by: str,
        created_at: datetime,
        message_id_domain: str,
        template: TemplateRef | None = None,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> Message:
        """A new SMS. ``sender`` is an alphanumeric sender id (at most 11 characters) or a number;
        ``message_id_domain`` names the company domain used for the stable Message-ID."""
        if not isinstance(recipients, SmsRecipients) or len(recipients) == 0:
            raise InvalidMessage("recipients", "an SMS needs at least one number")
        checked = _check_text("text", text)
        if not checked or not checked.strip():
            raise InvalidMessage("text", "an SMS needs text")
        check_sms_control_characters(checked)
        if (
            not isinstance(sender, str)
            or not sender
            or (not sender.lstrip("+").isdigit() and len(sender) > MAX_SMS_SENDER_CHARS)
            or not all(ch.isascii() and (ch.isalnum() or ch in " +-._") for ch in sender)
        ):
            raise InvalidMessage(
                "sender", f"{sender!r} must be a number or 1-11 ASCII letters and digits"
            )
        return cls._new(
            Channel.SMS,
            sender=sender,
            recipients=recipients,
            subject="",
            html=None,
            text=checked,
            attachments=(),
            links=links,
            template=template,
            created_by=created_by,
            created_at=created_at,
            scheduled_at=scheduled_at,
            expires_at=expires_at,
            message_id_domain=message_id_domain,
        )

    @classmethod
    def _new(
        cls,
        channel: Channel,
        *,
        sender: EmailAddress | str,
        recipients: EmailRecipients | SmsRecipients,
        subject: str,
        html: str | None,
        text: str | None,
        attachments: tuple[Attachment, ...],
        links: Iterable[LinkedEntity],
        template: TemplateRef | None,
        created_by: str,
        created_at: datetime,
        scheduled_at: datetime | None,
        expires_at: datetime | None,
        message_id_domain: str,
    ) -> Message:
        created = _required(created_at)
        message_id = uuid7(created)
        return cls(
            id=message_id,
            channel=channel,
            status=_S.QUEUED if scheduled_at is not None else _S.DRAFT,
            sender=sender,
            recipients=recipients,
            subject=subject,
            html=html,
            text=text,
            attachments=attachments,
            links=_check_links(links),
            template=template,
            created_by=created_by,
            created_at=created,
            updated_at=created,
            scheduled_at=_aware(scheduled_at),
            expires_at=_aware(expires_at),
            next_attempt_at=None,
            attempts=0,
            version=1,
            message_id_header=new_message_id_header(message_id, message_id_domain),
            queued_by=created_by if scheduled_at is not None else None,
            queued_at=created if scheduled_at is not None else None,
        )

    # -- derived ------------------------------------------------------------------------------

    @property
    def client_ids(self) -> tuple[str, ...]:
        """Ids of the clients this message is linked to."""
        return tuple(link.id for link in self.links if link.kind == "client")

    @property
    def sms_cost(self) -> SmsEncoding | None:
        """An SMS's encoding (``"GSM-7"`` or ``"UCS-2"``), segments, characters left in the
        last one and the characters that forced UCS-2 (``domain/sms.py``); None for an e-mail.

        .. versionadded:: 0.5
        """
        if self.channel is not Channel.SMS or self.text is None:
            return None
        return analyse_sms(self.text)

    @property
    def key_scope(self) -> str:
        """The key scope the content is sealed under: the first linked client, else ``""``."""
        for link in self.links:
            if link.kind == "client":
                return link.id
        return ""

    @property
    def body_text(self) -> str:
        """The plain text of the message: the text part (the SMS text), or, when an e-mail has
        only HTML, the plain-text alternative generated from it."""
        if self.text is not None:
            return self.text
        return html_to_text(self.html) if self.html else ""

    # -- changes ------------------------------------------------------------------------------

    def queued_for_sending(self, actor_id: str, *, at: datetime) -> Message:
        """The message as queued by ``actor_id`` at ``at`` (recorded in its later attempts)."""
        return attrs.evolve(self, queued_by=actor_id, queued_at=_required(at))

    def can_transition(self, status: MessageStatus) -> bool:
        """Whether the current status allows moving to ``status``."""
        return status in TRANSITIONS[self.status]

    def transition(
        self,
        status: MessageStatus,
        *,
        at: datetime,
        next_attempt_at: datetime | None = None,
    ) -> Message:
        """Return the message in ``status``; raise :class:`IllegalTransition` if not allowed."""
        status = MessageStatus(status)
        if not self.can_transition(status):
            raise IllegalTransition(self.id, self.status.value, status.value)
        return attrs.evolve(
            self,
            status=status,
            updated_at=_required(at),
            attempts=self.attempts + 1 if status is _S.SENDING else self.attempts,
            next_attempt_at=_aware(next_attempt_at) if status is _S.DEFERRED else None,
            sent_at=_required(at) if status in _ACCEPTED else self.sent_at,
        )

    @property
    def is_editable(self) -> bool:
        """Whether the content may still change (not yet handed to a sender)."""
        return self.status in (_S.DRAFT, _S.QUEUED, _S.DEFERRED)

    def edited(
        self,
        *,
        at: datetime,
        recipients: EmailRecipients | SmsRecipients | None = None,
        subject: str | None = None,
        html: str | None = None,
        text: str | None = None,
        links: Iterable[LinkedEntity] | None = None,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> Message:
        """A new version with the given parts changed (``None`` keeps a part). Only while the
        message is DRAFT, QUEUED or DEFERRED; the Message-ID and the id stay."""
        if not self.is_editable:
            raise IllegalTransition(self.id, self.status.value, "edited")
        if recipients is not None:
            expected = EmailRecipients if self.channel is Channel.EMAIL else SmsRecipients
            if not isinstance(recipients, expected) or len(recipients) == 0:
                raise InvalidMessage("recipients", "need at least one recipient of this channel")
        new_subject = (
            self.subject
            if subject is None
            else _check_text("subject", subject, max_chars=MAX_SUBJECT_CHARS) or ""
        )
        if any(ch in new_subject for ch in "\r\n"):
            raise InvalidMessage("subject", "must be one line (no CR or LF)")
        if self.channel is Channel.SMS and (subject or html):
            raise InvalidMessage("body", "an SMS has only text")
        new_html = self.html if html is None else _check_text("html", html)
        new_text = self.text if text is None else _check_text("text", text)
        if self.channel is Channel.SMS and text is not None and new_text is not None:
            check_sms_control_characters(new_text)
        if not (new_html or new_text):
            raise InvalidMessage("body", "the message needs a body")
        return attrs.evolve(
            self,
            recipients=recipients if recipients is not None else self.recipients,
            subject=new_subject,
            html=new_html,
            text=new_text,
            links=_check_links(links) if links is not None else self.links,
            scheduled_at=_aware(scheduled_at) if scheduled_at is not None else self.scheduled_at,
            expires_at=_aware(expires_at) if expires_at is not None else self.expires_at,
            version=self.version + 1,
            updated_at=_required(at),
        )
