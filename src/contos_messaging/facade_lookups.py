"""The looking-up half of :class:`~contos_messaging.AsyncMessenger`: the list, history, search,
the send log, delivery reports, the audit trail, export and download (one class of methods it
inherits, to keep each file readable; see ``messenger.py``)."""

from __future__ import annotations

from typing import Unpack

from contos_messaging.adapters.smtp.mime import build_mime
from contos_messaging.domain.delivery import DeliveryReceipt
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.page import Page
from contos_messaging.domain.query import MessageQuery, QueryFilters
from contos_messaging.domain.send_log import AuditEvent, SendAttempt
from contos_messaging.facade_base import FacadeBase
from contos_messaging.ports.context import Contact
from contos_messaging.services import (
    deliveries,
    export,
    history,
    search,
)
from contos_messaging.services.arguments import checked_methods
from contos_messaging.services.composing import Progress
from contos_messaging.services.export import AttachmentDownload
from contos_messaging.services.search import SearchPage

__all__ = ["LookupMethods"]


@checked_methods
class LookupMethods(FacadeBase):
    """Looking up, reading and exporting; see :class:`~contos_messaging.AsyncMessenger`."""

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
