"""Queueing drafts for sending: the "review, then send" of a bulk run (generated as drafts,
looked at and edited, then queued together), or any drafts picked in the window."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.integrity import Update
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.send_log import AuditAction, AuditEvent
from contos_messaging.errors import (
    InvalidInput,
    KeyUnavailable,
    MessageNotFound,
    PermissionDenied,
)
from contos_messaging.services.core import Core
from contos_messaging.services.send_report import SkipReason

__all__ = ["QueueReport", "queue"]

_S = MessageStatus
# Drafts queued per transaction.
BATCH = 500
_SKIPPED_BY_STATUS = {
    _S.QUEUED: SkipReason.ALREADY_QUEUED,
    _S.DEFERRED: SkipReason.ALREADY_QUEUED,
    _S.SENDING: SkipReason.BEING_SENT,
    _S.SENT: SkipReason.ALREADY_SENT,
    _S.PARTIALLY_SENT: SkipReason.ALREADY_SENT,
    _S.DELIVERED: SkipReason.ALREADY_SENT,
    _S.UNDELIVERED: SkipReason.ALREADY_SENT,
    _S.FAILED: SkipReason.ALREADY_FAILED,
    _S.CANCELLED: SkipReason.CANCELLED,
    _S.EXPIRED: SkipReason.EXPIRED,
}


@attrs.frozen
class QueueReport:
    """What ``queue`` did: the ids queued, in order, and each id it left alone with why.

    .. versionadded:: 0.5
    """

    queued: tuple[str, ...] = ()
    skipped: tuple[tuple[str, SkipReason], ...] = ()

    def __len__(self) -> int:
        return len(self.queued)


async def queue(
    core: Core,
    actor: Actor,
    selection: str | Iterable[str] | MessageQuery,
    *,
    scheduled_at: datetime | None,
) -> QueueReport:
    """See ``AsyncMessenger.queue``."""
    ports = core.ports
    if scheduled_at is not None and scheduled_at.utcoffset() is None:
        raise InvalidInput("scheduled_at needs a time zone (datetime(..., tzinfo=UTC))")
    queued: list[str] = []
    skipped: list[tuple[str, SkipReason]] = []
    if isinstance(selection, MessageQuery):
        if selection.after is not None:
            raise InvalidInput(
                "queue selects drafts by filters; after (a page cursor) names a page:"
                " give the ids of that page instead"
            )
        query = attrs.evolve(selection, status=_S.DRAFT, limit=BATCH, offset=0, order="newest")
        while True:
            # The drafts queued drop out of the next page; those skipped stay and are passed.
            page = await ports.repository.list_messages(attrs.evolve(query, offset=len(skipped)))
            if not page.items:
                break
            done, left = await _queue_batch(core, actor, list(page.items), scheduled_at)
            queued += done
            skipped += left
            if not done and not left:  # (nothing moved: changed under us; go no further)
                break
        return QueueReport(tuple(queued), tuple(skipped))
    ids = [selection] if isinstance(selection, str) else list(selection)
    if len(ids) > core.settings.limits.page_size * 100:
        raise InvalidInput(f"at most {core.settings.limits.page_size * 100} ids at a time")
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        found = await _found(core, chunk)
        missing = [(i, SkipReason.NOT_FOUND) for i in chunk if i not in found]
        present = [found[i] for i in dict.fromkeys(chunk) if i in found]
        done, left = await _queue_batch(core, actor, present, scheduled_at)
        queued += done
        skipped += missing + left
    return QueueReport(tuple(queued), tuple(skipped))


async def _found(core: Core, ids: list[str]) -> dict[str, Message]:
    """The messages of ``ids`` that exist (and can be opened), by id."""
    repository = core.ports.repository
    try:
        return {m.id: m for m in await repository.get_many(ids)}
    except (MessageNotFound, KeyUnavailable):
        found = {}
        for message_id in dict.fromkeys(ids):
            try:
                found[message_id] = await repository.get(message_id)
            except (MessageNotFound, KeyUnavailable):
                continue
        return found


async def _queue_batch(
    core: Core, actor: Actor, messages: list[Message], scheduled_at: datetime | None
) -> tuple[list[str], list[tuple[str, SkipReason]]]:
    ports = core.ports
    now = ports.clock.now()
    updates: list[Update] = []
    skipped: list[tuple[str, SkipReason]] = []
    for message in messages:
        try:
            ports.permissions.check(actor, Permission.SEND, message)
        except PermissionDenied:
            skipped.append((message.id, SkipReason.NO_PERMISSION))
            continue
        if message.status is not _S.DRAFT:
            skipped.append((message.id, _SKIPPED_BY_STATUS[message.status]))
            continue
        queued = attrs.evolve(
            message.transition(_S.QUEUED, at=now),
            scheduled_at=scheduled_at if scheduled_at is not None else message.scheduled_at,
            queued_at=now,
        )
        event = AuditEvent.record(
            actor.id, AuditAction.STATUS_CHANGED, message.id, at=now,
            **{"from": _S.DRAFT.value, "to": _S.QUEUED.value},
        )  # fmt: skip
        updates.append(Update(queued, message, events=[event]))
    changed = set(await ports.repository.update_many(updates)) if updates else set()
    done = [u.message for u in updates if u.message.id not in changed]
    skipped += [(u.message.id, SkipReason.CHANGED) for u in updates if u.message.id in changed]
    await core.index.upsert(done)
    return [m.id for m in done], skipped
