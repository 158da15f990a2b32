"""Message repository port: metadata, content, links, send log, audit and the outbox queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, MessageStatus
from contos_messaging.domain.page import Page
from contos_messaging.domain.send_log import AuditEvent, SendAttempt

__all__ = ["MessageRepository"]


class MessageRepository(Protocol):
    """**Protocol**: where messages live.

    Writes are atomic: :meth:`add` stores all given messages and events or none;
    :meth:`update` changes one message and appends its attempt and events together, and only if
    the stored message still matches ``expected`` (same status, version and attempt count),
    otherwise it raises :class:`~contos_messaging.errors.ConcurrentModification`.

    .. versionadded:: 0.1
    """

    async def add(
        self, messages: Sequence[Message], /, *, events: Sequence[AuditEvent] = ()
    ) -> None:
        """Store new messages; :class:`~contos_messaging.errors.AlreadyExists` if an id is taken."""
        ...

    async def get(self, message_id: str, /) -> Message:
        """Return one message; :class:`~contos_messaging.errors.MessageNotFound` if absent."""
        ...

    async def get_many(self, message_ids: Sequence[str], /) -> list[Message]:
        """Return messages in the order of ``message_ids``; raise if any is absent."""
        ...

    async def update(
        self,
        message: Message,
        /,
        *,
        expected: Message,
        attempt: SendAttempt | None = None,
        events: Sequence[AuditEvent] = (),
    ) -> None:
        """Replace ``expected`` by ``message`` (compare-and-set) and append log entries."""
        ...

    async def list_linked(
        self,
        entity: LinkedEntity,
        /,
        *,
        channel: Channel | None = None,
        status: MessageStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        created_by: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Message]:
        """Messages linked to ``entity``, newest first; ``since`` inclusive, ``until`` exclusive."""
        ...

    async def due(self, now: datetime, /, *, limit: int = 100) -> list[str]:
        """Ids of messages due for sending at ``now`` (QUEUED whose time has come, DEFERRED whose
        retry time has come), oldest first."""
        ...

    async def attempts(self, message_id: str, /) -> list[SendAttempt]:
        """The send log of a message, oldest first."""
        ...

    async def audit(self, subject: str, /) -> list[AuditEvent]:
        """Audit events about ``subject`` (a message id or ``client:<id>``), oldest first."""
        ...

    async def aclose(self) -> None:
        """Release resources."""
        ...
