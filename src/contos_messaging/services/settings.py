"""Settings of a messenger and the bundle of ports it runs on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypedDict

import attrs

from contos_messaging.domain.addresses import EmailAddress, parse_address
from contos_messaging.domain.limits import Limits
from contos_messaging.domain.phones import PhoneNumber, parse_phone_list
from contos_messaging.domain.sms import SmsPolicy, transliterate
from contos_messaging.errors import ConfigurationError, InvalidAddress
from contos_messaging.ports import (
    AddressBook,
    BlobStore,
    Clock,
    ContextProvider,
    EmailTransport,
    KeyStore,
    MessageRepository,
    PermissionPolicy,
    SearchIndex,
    SmsTransport,
    TemplateRenderer,
    TemplateRepository,
)

__all__ = ["HostParts", "MessengerSettings", "Ports"]


def _to_sender(value: EmailAddress | str) -> EmailAddress:
    if isinstance(value, EmailAddress):
        return value
    try:
        return parse_address(value)
    except InvalidAddress as exc:
        raise ConfigurationError(f"company_sender: {exc}") from exc


@attrs.frozen
class MessengerSettings:
    """Company-wide settings.

    ``company_sender`` is the default From of e-mails (``"ContOS s.r.o. <info@contos.cz>"``);
    ``sms_sender`` the default SMS sender id; ``default_region`` applies to phone numbers written
    without a country code; ``default_language`` is the template language used when a
    template has no variant in the language asked for. Temporary failures are retried after
    ``retry_base`` doubling per attempt up to ``retry_max``, at most ``max_attempts`` times.
    ``limits`` bounds every size and count a caller controls (:class:`Limits`).
    HTML bodies are sanitised to an allowlist that suits e-mail (``domain/html.py``); images
    from the web in them are dropped unless ``remote_images`` (they tell the sender when the
    message was opened). SMS go to numbers of ``default_region``'s country only, unless
    ``sms_international``. ``sms_policy`` (``"auto"``, ``"transliterate"`` or ``"ucs2"``,
    ``domain/sms.py``) says how SMS text is encoded; ``transliterate`` replaces Czech diacritics
    so that a message costs a third as many segments.
    """

    company_sender: EmailAddress = attrs.field(converter=_to_sender)
    sms_sender: str = "ContOS"
    default_region: str = "CZ"
    default_language: str = "cs"
    retry_base: timedelta = timedelta(minutes=1)
    retry_max: timedelta = timedelta(hours=2)
    max_attempts: int = 10
    limits: Limits = attrs.field(factory=Limits)
    remote_images: bool = False
    sms_policy: SmsPolicy = attrs.field(default=SmsPolicy.AUTO, converter=SmsPolicy)
    sms_international: bool = False

    def sms_numbers(self, value: Any) -> tuple[PhoneNumber, ...]:
        """SMS recipients parsed as this messenger takes them: E.164, national numbers in
        ``default_region``, numbers of other countries only with ``sms_international``."""
        return parse_phone_list(
            value, region=self.default_region, international=self.sms_international
        )

    def sms_text(self, text: str, policy: SmsPolicy | None = None) -> str:
        """``text`` as an SMS of this messenger sends it: transliterated under the
        ``transliterate`` policy (``policy``, a template's own, else the messenger's), else as
        it is."""
        if (policy or self.sms_policy) is SmsPolicy.TRANSLITERATE and isinstance(text, str):
            return transliterate(text)
        return text

    @property
    def message_id_domain(self) -> str:
        """The domain used in Message-IDs (the company sender's, in ASCII form)."""
        return self.company_sender.ascii_addr_spec.rsplit("@", 1)[1]


@attrs.frozen
class Ports:
    """The adapters a messenger runs on, one per port (``search`` is None when no full-text
    index is configured)."""

    repository: MessageRepository
    templates: TemplateRepository
    renderer: TemplateRenderer
    blobs: BlobStore
    search: SearchIndex | None
    keys: KeyStore
    email_transport: EmailTransport | None
    sms_transport: SmsTransport | None
    permissions: PermissionPolicy
    address_book: AddressBook
    context: ContextProvider
    clock: Clock


class HostParts(TypedDict, total=False):
    """What the host gives a messenger besides its store, as keyword arguments of
    ``AsyncMessenger.open`` (and ``Messenger.open``); each is optional, as for
    :func:`contos_messaging.wire`: ``company_sender`` (the default From; required unless
    ``settings`` has it), ``settings``, ``email_transport`` and ``sms_transport`` (default:
    none; the outbox then leaves that channel's messages queued, and ``send`` reports them
    with :class:`~contos_messaging.errors.NoTransport`), ``address_book``, ``context``
    (variables of linked records), ``permissions`` (default: the actor's own permissions) and
    ``clock``."""

    company_sender: EmailAddress | str | None
    settings: MessengerSettings | None
    email_transport: EmailTransport | None
    sms_transport: SmsTransport | None
    address_book: AddressBook | None
    context: ContextProvider | None
    permissions: PermissionPolicy | None
    clock: Clock | None
