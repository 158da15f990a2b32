"""Bulk generation: one message per target from a template, rendered in the render workers
while the previous batch is sealed and stored, each batch one transaction."""

from __future__ import annotations

import asyncio
import collections
import inspect
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.addresses import AddressInput
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.limits import MAX_BATCH
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, MessageStatus
from contos_messaging.domain.send_log import AuditAction, AuditEvent
from contos_messaging.errors import (
    InvalidAttachment,
    InvalidInput,
    InvalidMessage,
    MessagingError,
)
from contos_messaging.services.compose import check_attachment_types, stage_attachments
from contos_messaging.services.composing import Progress
from contos_messaging.services.context import ContextBuilder, as_links
from contos_messaging.services.core import Core

__all__ = ["BulkFailure", "BulkReport", "BulkTarget", "generate_bulk"]

AHEAD = 2
"""Batches rendered ahead of the one being stored."""


def _attachments(value: Iterable[Attachment]) -> tuple[Attachment, ...]:
    if isinstance(value, Attachment):
        return (value,)
    if not isinstance(value, list | tuple):
        raise InvalidAttachment(repr(value)[:60], "give a list of Attachment")
    return tuple(value)


@attrs.frozen
class BulkTarget:
    """One message of a bulk run: the records it concerns, optionally its recipient and its own
    variables (which win over the records' variables)."""

    links: tuple[LinkedEntity, ...] = attrs.field(converter=as_links)
    to: AddressInput | None = None
    variables: Mapping[str, Any] | None = None
    idempotency_key: str | None = None
    """A key of the host's choosing: a bulk run retried with the same keys stores no second
    message for a target whose key is stored already (its id is reported as created)."""
    attachments: tuple[Attachment, ...] = attrs.field(default=(), converter=_attachments)
    """Files of this target's message (each client's own statement PDF), after those given
    to the whole run."""


@attrs.frozen
class BulkFailure:
    """A target that produced no message, and why."""

    index: int
    target: BulkTarget
    error: MessagingError

    @property
    def reason(self) -> str:
        """The error as text."""
        return str(self.error)


@attrs.frozen
class BulkReport:
    """What :meth:`generate_bulk` stored (ids, in target order) and which targets failed."""

    created: tuple[str, ...]
    failures: tuple[BulkFailure, ...]
    total: int


def _as_target(value: BulkTarget | LinkedEntity | Iterable[LinkedEntity]) -> BulkTarget:
    if isinstance(value, BulkTarget):
        return value
    return BulkTarget(links=as_links(value))


_Prepared = tuple[int, BulkTarget, Any, Any]


async def generate_bulk(
    core: Core,
    actor: Actor,
    template_name: str,
    targets: Iterable[BulkTarget | LinkedEntity | Iterable[LinkedEntity]],
    *,
    scheduled_at: datetime | None,
    progress: Progress | None,
    language: str | None,
    batch_size: int,
    status: MessageStatus | str = MessageStatus.QUEUED,
    attachments: Sequence[Attachment] = (),
) -> BulkReport:
    """Render one message per target and store them QUEUED (or as drafts), batch by batch (see
    ``AsyncMessenger.generate_bulk``)."""
    ports, composer = core.ports, core.composer
    ports.permissions.check(actor, Permission.COMPOSE)
    try:
        status = MessageStatus(status)
    except ValueError:
        raise InvalidInput(f"status must be 'queued' or 'draft', got {status!r}") from None
    if status not in (MessageStatus.QUEUED, MessageStatus.DRAFT):
        raise InvalidInput(f"status must be 'queued' or 'draft', got {status.value!r}")
    check_attachment_types(attachments)
    if not 1 <= batch_size <= MAX_BATCH:
        raise InvalidInput(f"batch_size must be between 1 and {MAX_BATCH:,}, got {batch_size}")
    template = await core.templates.get(template_name, language=language)
    items = [_as_target(t) for t in targets]
    if (attachments or any(t.attachments for t in items)) and template.channel is not Channel.EMAIL:
        raise InvalidMessage("attachments", "an SMS has no attachments")
    for item in items:
        check_attachment_types(item.attachments)
    total = len(items)
    created: list[str] = []
    failures: list[BulkFailure] = []
    builder = ContextBuilder(ports, core.settings)
    now = ports.clock.now()
    when = scheduled_at or (now if status is MessageStatus.QUEUED else None)

    async def prepare(start: int) -> list[_Prepared]:
        ready: list[tuple[int, BulkTarget, dict[str, Any], Any]] = []
        for index in range(start, min(total, start + batch_size)):
            target = items[index]
            try:
                recipient, contact = await composer.recipient(
                    template.channel, target.links, target.to
                )
                context = await builder.build(target.links, target.variables, contact)
            except MessagingError as exc:
                failures.append(BulkFailure(index, target, exc))
                continue
            ready.append((index, target, context, recipient))
        results = await ports.renderer.render(template, [r[2] for r in ready])
        return [
            (i, t, rendered, rcpt)
            for (i, t, _c, rcpt), rendered in zip(ready, results, strict=True)
        ]

    async def store(messages: list[Message], keys: list[str | None]) -> dict[str, str]:
        events = [
            AuditEvent.record(
                actor.id,
                AuditAction.CREATED,
                m.id,
                at=m.created_at,
                channel=channel,
                status=m.status.value,
                bulk=template.name,
            )
            for m in messages
        ]
        taken = await ports.repository.add(
            messages, events=events, idempotency_keys=keys if any(keys) else ()
        )
        await core.index.add([m for m in messages if m.id not in taken])
        return taken

    channel = template.channel.value

    # Up to AHEAD batches are being rendered (in the render workers) while this one is built
    # and stored, so neither the workers nor this thread wait for each other.
    starts = list(range(0, total, batch_size))
    pending: collections.deque[asyncio.Future[list[_Prepared]]] = collections.deque()
    for start in starts[:AHEAD]:
        pending.append(asyncio.ensure_future(prepare(start)))
        await asyncio.sleep(0)  # let it build its contexts and hand them over now
    for position, start in enumerate(starts):
        batch = await pending.popleft()
        if position + AHEAD < len(starts):
            pending.append(asyncio.ensure_future(prepare(starts[position + AHEAD])))
            await asyncio.sleep(0)
        messages: list[Message] = []
        keys: list[str | None] = []
        contents: list[tuple[str, str, bytes]] = []  # the batch's attachments, stored at once
        for index, target, rendered, recipient in batch:
            if isinstance(rendered, MessagingError):
                failures.append(BulkFailure(index, target, rendered))
                continue
            try:
                message = composer.build(
                    actor, template, rendered, target.links, recipient, now, when
                )
                files = (*attachments, *target.attachments)
                if status is MessageStatus.DRAFT:
                    message = attrs.evolve(message, status=MessageStatus.DRAFT)
                if files:
                    listed = tuple(a.metadata_only() for a in files)
                    message = composer.check(attrs.evolve(message, attachments=listed))
                    stored, puts = await stage_attachments(core, message.key_scope, files)
                    message = attrs.evolve(message, attachments=stored)
                    contents += puts
                messages.append(message)
                keys.append(target.idempotency_key)
            except MessagingError as exc:
                failures.append(BulkFailure(index, target, exc))
        if contents:  # (before the rows that refer to them)
            await ports.blobs.put_many(contents)
        if messages:
            taken = await store(messages, keys)
            created.extend(taken.get(m.id, m.id) for m in messages)
        if progress is not None:
            outcome = progress(min(start + batch_size, total), total)
            if inspect.isawaitable(outcome):
                await outcome
    failures.sort(key=lambda f: f.index)
    return BulkReport(tuple(created), tuple(failures), total)
