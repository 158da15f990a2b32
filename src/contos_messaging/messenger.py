"""AsyncMessenger: the entrypoint. Each method checks that the messenger is open, builds the
query where there is one, and calls the use case of the same name in ``services/`` (compose,
bulk, edit, cancel, send, resend, outbox, search, history, erase, rotate, verify, gc,
templates); the logic lives there."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, Unpack

from contos_messaging import bootstrap
from contos_messaging.domain.actor import Actor
from contos_messaging.domain.addresses import EmailAddress
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.delivery import DeliveryReceipt
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.sms import SmsEncoding, SmsPolicy, analyse_sms
from contos_messaging.errors import InvalidInput
from contos_messaging.facade_life import LifeCycleMethods
from contos_messaging.facade_lookups import LookupMethods
from contos_messaging.ports.transports import ReportsDeliveries
from contos_messaging.services import (
    bulk,
    compose,
    sizing,
)
from contos_messaging.services.arguments import checked_methods
from contos_messaging.services.bulk import BulkReport, BulkTarget
from contos_messaging.services.composing import EmailInput, PhoneInput, Progress
from contos_messaging.services.core import Core
from contos_messaging.services.settings import HostParts, MessengerSettings, Ports
from contos_messaging.services.sizing import EmailSize
from contos_messaging.services.templates import AsyncTemplates

__all__ = ["AsyncMessenger"]


@checked_methods
class AsyncMessenger(LookupMethods, LifeCycleMethods):
    """Client communication for one host application: compose, store, link, send, look up.

    Open the embedded store with :meth:`open`, or build one from adapters with
    :func:`contos_messaging.wire` (in tests:
    :func:`contos_messaging.testing.make_async_test_messenger`). Use it as an async context
    manager, or call :meth:`aclose` when done. The blocking twin is
    :class:`contos_messaging.Messenger`.
    """

    def __init__(self, ports: Ports, settings: MessengerSettings) -> None:
        self._core = Core(ports, settings)
        self._closed = False
        if isinstance(ports.sms_transport, ReportsDeliveries):  # (an SMPP session's reports)
            ports.sms_transport.set_receipt_handler(self._on_receipt)

    async def _on_receipt(self, receipt: DeliveryReceipt) -> None:
        await self.record_delivery(receipt)

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        master_key: bytes | str | None = None,
        keys_path: str | os.PathLike[str] | None = None,
        **parts: Unpack[HostParts],
    ) -> AsyncMessenger:
        """Open (or create) the embedded store in the directory ``path``: SQLite metadata, the
        encrypted file store and the key store (``path/keys.sqlite``, or the file
        ``keys_path``, to back keys up apart from the data), all under ``master_key`` (32 bytes
        or their base64; default: ``CONTOS_MESSAGING_MASTER_KEY`` or ``..._FILE`` from the
        environment).
        A missing or wrong master key raises :class:`ConfigurationError` before anything is
        written. The other arguments are the :class:`~contos_messaging.services.settings.
        HostParts` (``company_sender``, ``settings``, ``email_transport``, ``sms_transport``,
        ``address_book``, ``context``, ``permissions``, ``clock``), as for
        :func:`contos_messaging.wire`.
        """
        return await bootstrap.open_embedded(
            path, master_key=master_key, keys_path=keys_path, **parts
        )

    @property
    def ports(self) -> Ports:
        """The adapters this messenger runs on (in tests: the fakes to inspect)."""
        return self._core.ports

    @property
    def settings(self) -> MessengerSettings:
        """The company-wide settings."""
        return self._core.settings

    @property
    def templates(self) -> AsyncTemplates:
        """The template store: ``save``, ``get``, ``list``, ``retire``, ``variables``,
        ``preview``."""
        return self._core.templates

    async def aclose(self) -> None:
        """Close transports, index and store. Idempotent."""
        if not self._closed:
            self._closed = True
            transport = self._core.ports.sms_transport
            if isinstance(transport, ReportsDeliveries):
                transport.set_receipt_handler(None)
            await self._core.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        await self.aclose()

    # -- composing: services/compose.py, services/bulk.py -------------------------------------

    async def compose_email(
        self,
        actor: Actor,
        *,
        to: EmailInput | None = None,
        subject: str,
        html: str | None = None,
        text: str | None = None,
        cc: EmailInput = (),
        bcc: EmailInput = (),
        sender: EmailAddress | str | None = None,
        attachments: Sequence[Attachment] = (),
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Compose and store an e-mail.

        ``to`` (and ``cc``, ``bcc``) is a string with addresses separated by ``,`` or ``;``,
        or a sequence of addresses and records (``LinkedEntity.order("O-7")``: the address of
        the record's client from the address book). When it is omitted the recipient is the
        first linked client's (else the first linked record's client's) address-book entry.
        When no client is linked and the address book names the owners of the records
        (``RecordOwners``), their clients are linked too: the message is in their history.
        The message is a DRAFT, or QUEUED for ``scheduled_at``. Nothing is stored if any input
        is invalid. With ``idempotency_key``, a call retried with the same key (from any process
        on the store) returns the message stored the first time instead of a second one.
        """
        return await compose.compose_email(
            self._open(), actor, to=to, subject=subject, html=html, text=text, cc=cc, bcc=bcc,
            sender=sender, attachments=attachments, links=links, scheduled_at=scheduled_at,
            expires_at=expires_at, idempotency_key=idempotency_key,
        )  # fmt: skip

    async def compose_sms(
        self,
        actor: Actor,
        *,
        to: PhoneInput | None = None,
        text: str,
        sender: str | None = None,
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Compose and store an SMS; ``to`` (numbers and records, as for
        :meth:`compose_email`) defaults to the linked client's mobile number.
        ``idempotency_key`` as for :meth:`compose_email`."""
        return await compose.compose_sms(
            self._open(), actor, to=to, text=text, sender=sender, links=links,
            scheduled_at=scheduled_at, expires_at=expires_at, idempotency_key=idempotency_key,
        )  # fmt: skip

    async def preview_sms(self, text: str, *, policy: SmsPolicy | str | None = None) -> SmsEncoding:
        """What an SMS of ``text`` costs, for the SMS detail window as the user types: the text
        as it would be sent under ``policy`` (default: the messenger's ``sms_policy``), its
        encoding, segments, the characters left in the last segment and those that forced
        UCS-2. A control character other than LF and CR raises ``InvalidMessage``.

        .. versionadded:: 0.5
        """
        chosen = self._open().settings.sms_policy if policy is None else policy
        try:
            chosen = SmsPolicy(chosen)
        except ValueError:
            raise InvalidInput(
                f"policy must be one of {[p.value for p in SmsPolicy]}, got {chosen!r}"
            ) from None
        return analyse_sms(text, chosen)

    async def compose_from_template(
        self,
        actor: Actor,
        template_name: str,
        *,
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        to: EmailInput | PhoneInput | None = None,
        variables: Mapping[str, Any] | None = None,
        language: str | None = None,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> Message:
        """Render a stored template and store the message (DRAFT, or QUEUED when scheduled).

        Variables: each linked record under its kind (``{{ client.name }}``,
        ``{{ order.number }}``), ``company``, ``recipient``, then ``variables`` (which win).
        Without ``to`` the recipient is the linked client's address-book entry. The message
        records the template name and version. A render failure raises :class:`TemplateError`.
        ``idempotency_key`` as for :meth:`compose_email`. ``attachments`` go with an e-mail
        (the order confirmation's PDF); an SMS template refuses them.
        """
        return await compose.compose_from_template(
            self._open(), actor, template_name, links=links, to=to, variables=variables,
            language=language, scheduled_at=scheduled_at, expires_at=expires_at,
            idempotency_key=idempotency_key, attachments=attachments,
        )  # fmt: skip

    async def email_size(
        self, message_id: str | None = None, *, adding: Sequence[int] = ()
    ) -> EmailSize:
        """How large an e-mail is on the wire with files of the sizes in ``adding`` (bytes, as
        on disk) added, against the transport's size limit and ``Limits``: for a compose
        window that checks a dropped file before it uploads it. Without ``message_id``, a new
        e-mail with only those files. ``room`` says how large one more file may be; compose
        and edit refuse what does not fit (``LimitExceeded``) before anything is stored.

        .. versionadded:: 0.5
        """
        return await sizing.email_size(self._open(), message_id, adding)

    async def generate_bulk(
        self,
        actor: Actor,
        template_name: str,
        targets: Iterable[BulkTarget | LinkedEntity | Iterable[LinkedEntity]],
        *,
        scheduled_at: datetime | None = None,
        progress: Progress | None = None,
        language: str | None = None,
        batch_size: int = 500,
        status: MessageStatus | str = MessageStatus.QUEUED,
        attachments: Sequence[Attachment] = (),
    ) -> BulkReport:
        """One message per target (a :class:`BulkTarget`, or just its links), rendered and
        stored QUEUED for sending at ``scheduled_at`` (default: as soon as the outbox runs), in
        batches of ``batch_size`` (1 to 10,000), each one transaction with a ``created``
        audit entry per message naming the actor. With ``status="draft"`` they are stored as
        drafts instead, to be reviewed, edited and queued with :meth:`queue` (``scheduled_at``
        then stays with them). ``attachments`` go with every message, a target's own
        (``BulkTarget(attachments=...)``) after them. ``progress(done, total)`` is called
        after each batch. A target that fails (no recipient, bad address, render error) is
        reported in ``failures`` with its reason; the others are stored. A target whose
        ``idempotency_key`` is stored already (a retried run) gets no second message: the
        stored one's id is in ``created``."""
        return await bulk.generate_bulk(
            self._open(), actor, template_name, targets, scheduled_at=scheduled_at,
            progress=progress, language=language, batch_size=batch_size, status=status,
            attachments=attachments,
        )  # fmt: skip
