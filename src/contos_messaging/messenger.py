"""AsyncMessenger: the entrypoint. Each method checks that the messenger is open, builds the
query where there is one, and calls the use case of the same name in ``services/`` (compose,
bulk, edit, cancel, send, resend, outbox, search, history, erase, rotate, verify, gc,
templates); the logic lives there."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, Unpack

from contos_messaging import bootstrap
from contos_messaging.adapters.smtp.mime import build_mime
from contos_messaging.adapters.sqlite.keys import load_master_key
from contos_messaging.domain.actor import Actor
from contos_messaging.domain.addresses import EmailAddress
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.delivery import DeliveryReceipt
from contos_messaging.domain.integrity import VerifyReport
from contos_messaging.domain.limits import check_grace, check_lease, check_outbox_run
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.page import Page
from contos_messaging.domain.query import MessageQuery, QueryFilters
from contos_messaging.domain.send_log import AuditEvent, SendAttempt
from contos_messaging.domain.sms import SmsEncoding, SmsPolicy, analyse_sms
from contos_messaging.errors import InvalidInput, UsageError
from contos_messaging.ports.context import Contact
from contos_messaging.ports.search import CompactionReport
from contos_messaging.ports.transports import ReportsDeliveries
from contos_messaging.services import (
    bulk,
    cancel,
    compose,
    deliveries,
    edit,
    erase,
    export,
    gc,
    history,
    queue,
    resend,
    rotate,
    search,
    send,
    sizing,
    verify,
)
from contos_messaging.services.arguments import checked_methods
from contos_messaging.services.bulk import BulkReport, BulkTarget
from contos_messaging.services.composing import EmailInput, PhoneInput, Progress
from contos_messaging.services.core import Core
from contos_messaging.services.export import AttachmentDownload
from contos_messaging.services.gc import GcReport
from contos_messaging.services.queue import QueueReport
from contos_messaging.services.search import SearchPage
from contos_messaging.services.send_report import SendReport
from contos_messaging.services.settings import HostParts, MessengerSettings, Ports
from contos_messaging.services.sizing import EmailSize
from contos_messaging.services.templates import AsyncTemplates

__all__ = ["AsyncMessenger"]

LEASE = timedelta(minutes=5)


@checked_methods
class AsyncMessenger:
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

    def _open(self) -> Core:
        if self._closed:
            raise UsageError("this messenger is closed")
        return self._core

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

    # -- looking up: services/history.py, services/search.py ----------------------------------

    async def get(self, message_id: str) -> Message:
        """Return one message by id; :class:`MessageNotFound` if there is none."""
        return await self._open().ports.repository.get(message_id)

    async def history(
        self,
        entity: LinkedEntity,
        query: MessageQuery | None = None,
        /,
        **filters: Unpack[QueryFilters],
    ) -> Page[Message]:
        """All communication linked to ``entity`` (a client, order, contract, ...), newest first.

        Narrow it with a :class:`MessageQuery` or its fields as keywords (``status="sent"``,
        ``since=...``, ``limit=20``, ``offset=40``); ``since`` is inclusive, ``until``
        exclusive (both with a time zone); ``limit`` (default 50) and ``offset`` are bounded
        by ``Limits.page_size`` and ``Limits.offset``.
        """
        return await history.history(self._open(), entity, MessageQuery.of(query, **filters))

    async def messages(
        self, query: MessageQuery | None = None, /, **filters: Unpack[QueryFilters]
    ) -> Page[Message]:
        """The communication window's list: every message that passes the filters (any
        combination of channel, statuses, linked records (any of them, or all of them with
        ``linked_all=True``), creator, template, created / scheduled / sent date ranges),
        newest first or in another ``order`` (``"oldest"``, ``"scheduled"``, ``"-sent"``,
        ``"status"``, ...), one page at a time with the count of all (``Page.total``); deep
        pages go on with ``after=page.next_after``. ``status=["draft", "queued"]``; members
        or their string values everywhere.

        .. versionadded:: 0.5
        """
        return await history.messages(self._open(), MessageQuery.of(query, **filters))

    async def status_counts(
        self, query: MessageQuery | None = None, /, **filters: Unpack[QueryFilters]
    ) -> dict[MessageStatus, int]:
        """How many messages pass the filters in each status (the window's tabs): every status,
        or those of ``status``.

        .. versionadded:: 0.5
        """
        return await history.status_counts(self._open(), MessageQuery.of(query, **filters))

    async def search(
        self,
        text: str,
        query: MessageQuery | None = None,
        /,
        **filters: Unpack[QueryFilters],
    ) -> SearchPage:
        """Full-text search over subjects, bodies, recipients, attachment names and template
        names (not attachment contents). Case and diacritics do not matter, every word must
        match the start of a word (``novák`` finds ``Nováková``). The text is bounded by
        ``Limits.query_chars`` and ``Limits.query_terms`` (a lone surrogate is refused), the
        page by ``Limits.page_size`` and ``Limits.offset``. A :class:`MessageQuery` or its
        fields as keywords narrow the hits (``limit`` default 20); an empty text lists newest
        first. Each hit carries the message decrypted from the
        store and a highlighted snippet (safe HTML)."""
        return await search.search(self._open(), text, MessageQuery.of(query, **filters))

    async def wait_indexed(self) -> None:
        """Wait until every message stored or changed so far is in the search index.

        The index is updated in the background (storing and sending never wait for it);
        :meth:`search` waits by itself, so this is for scripts, benchmarks and tests that look
        at the index directly or want a bulk run fully searchable before they go on. In the
        messenger that writes the index, changes other messengers on the store recorded for it
        are indexed too (they are within seconds anyway).

        .. versionchanged:: 0.5 other messengers' changes
        """
        core = self._open()
        await core.index.flush()
        await core.erasures.follow_changes()

    async def reindex(self, *, progress: Progress | None = None) -> int:
        """Rebuild the search index from the store (it is derived data); returns the number of
        messages indexed. ``progress(done, total)`` is called after each batch of 2,000
        (100,000 messages take about 30 s)."""
        return await search.rebuild(self._open(), progress=progress)

    async def send_log(self, message_id: str) -> list[SendAttempt]:
        """Every sending attempt of a message, oldest first: who, when, where, outcome."""
        return await history.send_log(self._open(), message_id)

    async def lookup_contacts(
        self, text: str, *, limit: int = 10
    ) -> list[tuple[LinkedEntity, Contact]]:
        """Autocomplete for the detail window ("pick from the address book"): at most ``limit``
        (1 to 100) records of the host's address book matching ``text``, with their contacts.
        Needs an address book that implements ``ContactLookup`` (``UsageError`` otherwise).

        .. versionadded:: 0.5
        """
        return await history.lookup_contacts(self._open(), text, limit=limit)

    async def record_delivery(self, receipt: DeliveryReceipt) -> str | None:
        """Store a gateway's delivery report (an SMPP ``deliver_sm``, an HTTP provider's status
        callback the host received) and return the id of the message it is about, or ``None``
        when it names no message sent from this store. Once every recipient the gateway
        accepted is reported, the message becomes ``DELIVERED`` (all delivered) or
        ``UNDELIVERED`` (one not delivered or expired), with an audit entry. The same report
        again changes nothing. A messenger opened with a transport that receives reports
        itself (``SmppTransport``) records them without being asked.

        .. versionadded:: 0.5
        """
        return await deliveries.record_delivery(self._open(), receipt)

    async def deliveries(self, message_id: str) -> list[DeliveryReceipt]:
        """The delivery reports of a message, in the order received: per recipient the state
        (delivered, undelivered, expired, accepted, unknown), the time, the gateway's code and
        words.

        .. versionadded:: 0.5
        """
        return await deliveries.deliveries(self._open(), message_id)

    async def audit(self, message_id: str) -> list[AuditEvent]:
        """The audit trail of a message, oldest first: created, edited, queued, cancelled ...,
        each with who, when and what changed (``details``). ``"client:C-1"`` instead of a
        message id gives what was done to the client itself: the tombstone of its erasure.

        .. versionadded:: 0.5
        """
        return await export.audit(self._open(), message_id)

    # -- export and download: services/export.py ------------------------------------------

    async def export_eml(self, message_id: str, *, bcc: bool = False) -> bytes:
        """The e-mail as the RFC 5322 bytes a mail client opens (save them as ``.eml``): built
        by the same code as when it is sent, with its attachments, its Message-ID and its
        date. The Bcc header is left out, as when sending, unless ``bcc`` (for the sender's own
        records or a data-access request). An SMS raises ``InvalidInput``.

        .. versionadded:: 0.5
        """
        email = await export.outgoing(self._open(), message_id)
        return build_mime(email, bcc=bcc)

    async def attachment(self, message_id: str, index: int) -> AttachmentDownload:
        """Download attachment ``index`` (from 0, in the message's order) of a message: its
        name, type and size at once, its bytes as they are read (``async for chunk in
        download.chunks``), so a 25 MB file is never held whole. An index out of range raises
        ``InvalidInput`` saying how many there are.

        .. versionadded:: 0.5
        """
        return await export.attachment(self._open(), message_id, index)

    # -- the life cycle: services/send.py, outbox.py, resend.py, edit.py, cancel.py ---------

    async def send(
        self, actor: Actor, message_ids: str | Iterable[str], *, lease: timedelta = LEASE
    ) -> SendReport:
        """Send the given messages now (the "tick several and send" of the communication window).

        Returns one :class:`SendOutcome` per id, in order: sent, partially sent, deferred,
        failed, expired, or skipped with its :class:`SkipReason` (not found, no permission,
        already sent, cancelled, being sent by another worker, ...). A selection is never
        refused as a whole. Each message is claimed under a lease like the outbox's (renewed
        while the call runs), so if this process dies mid-send the outbox takes the message
        back once ``lease`` (1 second to 1 day) has passed. The actor is recorded as who
        queued the message.
        """
        check_lease(lease)
        return await send.send(self._open(), actor, message_ids, lease=lease)

    async def send_due(
        self,
        limit: int | None = None,
        *,
        lease: timedelta = LEASE,
        batch: int = 100,
        actor: Actor | None = None,
        watch: bool = False,
        poll: float = 5.0,
        progress: Progress | None = None,
    ) -> SendReport:
        """The outbox: send every message whose time has come (QUEUED now or at its
        ``scheduled_at``, DEFERRED at its retry time, SENDING whose lease expired because its
        sender died), at most ``limit``. Messages are claimed in batches under a lease fenced by
        a token, so several workers (threads or processes) on one store never send the same
        message twice; a sender that outlived its lease cannot record a late outcome. After a
        crash between the server's acceptance and the commit, the message goes again with the
        same Message-ID when the lease expires (at-least-once).

        With ``watch=True`` it keeps running, looking for due messages every ``poll`` seconds,
        until :meth:`stop_outbox` is called or (in the main thread) SIGTERM / SIGINT arrive:
        the batch in flight finishes and is recorded, nothing is left half-sent.
        ``progress(sent_so_far, attempted_so_far)`` is called after each batch.
        """
        core = self._open()
        check_outbox_run(batch=batch, limit=limit, poll=poll, lease=lease)
        return await core.outbox.run(
            limit, lease=lease, batch=batch, actor=actor or Actor.system(), owner=core.owner,
            watch=watch, poll=poll, progress=progress,
        )  # fmt: skip

    def stop_outbox(self) -> None:
        """Ask a running ``send_due(watch=True)`` to finish its batch and return. Safe to call
        from any thread."""
        self._core.outbox.stop()

    async def resend(self, actor: Actor, message_id: str) -> SendAttempt:
        """Send a message again (SENT, PARTIALLY_SENT or FAILED) to all its recipients, with
        the same content and Message-ID; the attempt is logged as a resend."""
        return await resend.resend(self._open(), actor, message_id)

    async def edit(
        self,
        actor: Actor,
        message_id: str,
        *,
        to: EmailInput | PhoneInput | None = None,
        cc: EmailInput | None = None,
        bcc: EmailInput | None = None,
        subject: str | None = None,
        html: str | None = None,
        text: str | None = None,
        links: Iterable[LinkedEntity] | LinkedEntity | None = None,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
        attachments: Sequence[Attachment] | None = None,
    ) -> Message:
        """Change a message that is not sent yet (DRAFT, QUEUED or DEFERRED); parts left as
        None stay. Needs :attr:`Permission.EDIT` (and ``EDIT_OTHERS`` for someone else's
        message). The message gets a new ``version``; the audit log records who changed what;
        the search index follows. For e-mail, giving any of ``to`` / ``cc`` / ``bcc`` replaces
        all three (the others become empty unless given). ``attachments`` is the new list:
        keep an attachment by passing the message's own (``message.attachments[i]``), add one
        with ``Attachment.from_bytes`` / ``from_path``, remove one by leaving it out."""
        return await edit.edit(
            self._open(), actor, message_id, to=to, cc=cc, bcc=bcc, subject=subject, html=html,
            text=text, links=links, scheduled_at=scheduled_at, expires_at=expires_at,
            attachments=attachments,
        )  # fmt: skip

    async def queue(
        self,
        actor: Actor,
        selection: str | Iterable[str] | MessageQuery,
        *,
        scheduled_at: datetime | None = None,
    ) -> QueueReport:
        """Queue drafts for sending ("review, then send"): the ids given, or every DRAFT the
        query finds (``MessageQuery(template="vyuctovani", created_by="jana")``, say; its
        status is taken as DRAFT, its page ignored), in transactions of 500. Each goes QUEUED
        with a ``status_changed`` audit entry naming the actor, to be sent by the outbox now or
        at ``scheduled_at`` (which replaces the draft's own when given). Needs
        ``Permission.SEND`` for each; a message that is not a draft, not there or not the
        actor's to send is left alone and named in ``skipped`` with its reason.

        .. versionadded:: 0.5
        """
        return await queue.queue(self._open(), actor, selection, scheduled_at=scheduled_at)

    async def cancel(self, actor: Actor, message_id: str) -> Message:
        """Withdraw a message that is not sent yet (DRAFT, QUEUED or DEFERRED)."""
        return await cancel.cancel(self._open(), actor, message_id)

    # -- administration: services/erase.py, rotate.py, verify.py, gc.py ---------------------

    async def erase_client(self, actor: Actor, client_id: str) -> tuple[str, ...]:
        """Erase all communication sealed under a client's key (crypto-shredding).

        The client's keys are destroyed first, so its content can never be opened again even if
        the call is interrupted (calling it again finishes the job); then its messages, links,
        blind-index rows, send log, attachments and search documents are deleted and a
        tombstone is written to the audit log. Returns the erased message ids.
        """
        return await erase.erase_client(self._open(), actor, client_id)

    async def wait_for_compaction(self) -> CompactionReport | None:
        """Wait until the search index's files hold nothing of the clients erased so far: after
        ``erase_client`` returns nothing of the client is searchable, and the index is then
        rewritten in the background (about 6 s at 10,000 messages and a minute at 100,000 on
        a 2-core machine, see docs/performance.md). Erasures made by other processes count
        too: the process that writes the index notices them within a few seconds, and at once
        when this is called.
        A compaction an earlier process left unfinished resumes on open, and is waited for
        too. Returns the report (all zero when there was nothing left to
        compact), or None when the compaction failed (the log says why; ``reindex`` rewrites
        the whole index).

        .. versionadded:: 0.5
        """
        core = self._open()
        await core.erasures.check()  # (erasures made by other processes)
        return await core.index.compacted()

    async def rotate_client_key(self, actor: Actor, client_id: str) -> str:
        """Start a new key version for a client: new content uses it, old content stays
        readable with the older version. Returns the new key id."""
        return await rotate.rotate_client_key(self._open(), actor, client_id)

    async def rotate_master_key(
        self, actor: Actor, new_key: bytes | str, *, finish: bool = False
    ) -> int:
        """Put the store under a new master key (32 bytes or their base64 text) while it is
        open: every client key is re-wrapped in one transaction, no message is rewritten, and
        from then on only ``new_key`` opens the store. Other processes opened with the old
        key keep working until :meth:`finish_master_key_rotation` (restart them with the new
        key first); with ``finish`` the rotation is finished at once. Needs
        ``Permission.MANAGE_KEYS``. Returns the number of keys re-wrapped.

        .. versionadded:: 0.5
        """
        core = self._open()
        rotate.check_may_manage_keys(core, actor)  # (before the key is even looked at)
        key = load_master_key(new_key, what="the new_key argument")
        return await rotate.rotate_master_key(core, actor, key, finish=finish)

    async def finish_master_key_rotation(self, actor: Actor) -> int:
        """Finish the master key rotations so far, once every process runs with the new key:
        the client keys move under a fresh store key and every bridge from an old key is
        deleted, so a copy of the key file taken from now on opens with the new master key
        only, whatever older copies an attacker holds. A process still running with an old key
        can then use only the keys it holds in memory (others raise ``KeyUnavailable`` saying
        so). Called again, it empties the key file's write-ahead log if another connection
        kept it from that before (``StorageError`` says so). Needs
        ``Permission.MANAGE_KEYS``; returns how many rotations it finished.

        .. versionadded:: 0.5
        """
        return await rotate.finish_master_key_rotation(self._open(), actor)

    async def verify(self) -> VerifyReport:
        """Open every stored object (messages, send log, attachments) and report each one that
        fails its integrity check, and each attachment a message refers to that is missing; the
        others are unaffected."""
        return await verify.verify(self._open())

    async def gc(self, *, grace: timedelta = timedelta(hours=1)) -> GcReport:
        """Remove stored attachments no message refers to (left by an interrupted compose)
        once they are older than ``grace`` (0 to 3650 days), then reclaim their space."""
        check_grace(grace)
        return await gc.gc(self._open(), grace=grace)
