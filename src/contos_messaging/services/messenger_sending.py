"""Sending, resending, editing and cancelling: the parts of
:class:`~contos_messaging.AsyncMessenger` that move messages along their life cycle."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.addresses import AddressInput, EmailRecipients
from contos_messaging.domain.ids import uuid7
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, MessageStatus
from contos_messaging.domain.phones import SmsRecipients, parse_phone_list
from contos_messaging.domain.send_log import AttemptKind, AuditAction, AuditEvent, SendAttempt
from contos_messaging.errors import ConcurrentModification, IllegalTransition, InvalidInput
from contos_messaging.services.composing import Progress
from contos_messaging.services.messenger_base import MessengerBase
from contos_messaging.services.send_now import send_chosen
from contos_messaging.services.send_report import SendReport
from contos_messaging.services.templating import as_links

__all__ = ["SendingMethods"]

_CANCELLABLE = (MessageStatus.DRAFT, MessageStatus.QUEUED, MessageStatus.DEFERRED)


def _as_ids(message_ids: str | Iterable[str]) -> list[str]:
    ids = [message_ids] if isinstance(message_ids, str) else list(message_ids)
    for message_id in ids:
        if not isinstance(message_id, str) or not message_id:
            raise InvalidInput(f"message ids must be non-empty strings, got {message_id!r}")
    return list(dict.fromkeys(ids))


class SendingMethods(MessengerBase):
    """Part of :class:`~contos_messaging.AsyncMessenger`."""

    # -- sending -----------------------------------------------------------------------------

    @property
    def _owner(self) -> str:
        """Who holds this messenger's leases: ``host:pid:messenger``."""
        return f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    async def send(
        self,
        actor: Actor,
        message_ids: str | Iterable[str],
        *,
        lease: timedelta = timedelta(minutes=5),
    ) -> SendReport:
        """Send the given messages now (the "tick several and send" of the communication window).

        Returns one :class:`SendOutcome` per id, in order: sent, partially sent, deferred,
        failed, expired, or skipped with its :class:`SkipReason` (not found, no permission,
        already sent, cancelled, being sent by another worker, ...). A selection is never
        refused as a whole. Each message is claimed under a lease like the outbox's (renewed
        while the call runs), so if this process dies mid-send the outbox takes the message
        back once ``lease`` has passed. The actor is recorded as who queued the message.
        """
        self._check_open()
        ids = _as_ids(message_ids)
        report, updated = await send_chosen(
            self._ports, self._sender, actor, ids,
            kind=AttemptKind.SEND, lease=lease, owner=self._owner,
        )  # fmt: skip
        await self._index.upsert(updated)
        return report

    async def send_due(
        self,
        limit: int | None = None,
        *,
        lease: timedelta = timedelta(minutes=5),
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
        self._check_open()
        if batch < 1 or (limit is not None and limit < 0) or poll <= 0:
            raise InvalidInput("batch must be at least 1, limit not negative, poll positive")
        return await self._outbox.run(
            limit,
            lease=lease,
            batch=batch,
            actor=actor or Actor.system(),
            owner=self._owner,
            watch=watch,
            poll=poll,
            progress=progress,
        )

    def stop_outbox(self) -> None:
        """Ask a running ``send_due(watch=True)`` to finish its batch and return. Safe to call
        from any thread."""
        self._outbox.stop()

    async def resend(self, actor: Actor, message_id: str) -> SendAttempt:
        """Send a message again (SENT, PARTIALLY_SENT or FAILED) to all its recipients, with
        the same content and Message-ID; the attempt is logged as a resend."""
        self._check_open()
        message = await self._ports.repository.get(message_id)
        self._ports.permissions.check(actor, Permission.RESEND, message)
        if message.status not in (
            MessageStatus.SENT,
            MessageStatus.PARTIALLY_SENT,
            MessageStatus.FAILED,
        ):
            raise IllegalTransition(message.id, message.status.value, "resend")
        report, updated = await send_chosen(
            self._ports, self._sender, actor, [message.id],
            kind=AttemptKind.RESEND, lease=timedelta(minutes=5), owner=self._owner,
        )  # fmt: skip
        await self._index.upsert(updated)
        if report.error is not None:
            raise report.error
        (outcome,) = report.outcomes
        if outcome.attempt is None:
            raise ConcurrentModification(message.id)
        return outcome.attempt

    async def edit(
        self,
        actor: Actor,
        message_id: str,
        *,
        to: AddressInput | None = None,
        cc: AddressInput | None = None,
        bcc: AddressInput | None = None,
        subject: str | None = None,
        html: str | None = None,
        text: str | None = None,
        links: Iterable[LinkedEntity] | LinkedEntity | None = None,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> Message:
        """Change a message that is not sent yet (DRAFT, QUEUED or DEFERRED); parts left as
        None stay. Needs :attr:`Permission.EDIT` (and ``EDIT_OTHERS`` for someone else's
        message). The message gets a new ``version``; the audit log records who changed what;
        the search index follows. For e-mail, giving any of ``to`` / ``cc`` / ``bcc`` replaces
        all three (the others become empty unless given)."""
        self._check_open()
        message = await self._ports.repository.get(message_id)
        self._ports.permissions.check(actor, Permission.EDIT, message)
        recipients: EmailRecipients | SmsRecipients | None = None
        if message.channel is Channel.EMAIL and (to, cc, bcc) != (None, None, None):
            recipients = EmailRecipients.parse(to or (), cc or (), bcc or ())
        elif message.channel is Channel.SMS and to is not None:
            recipients = SmsRecipients(
                parse_phone_list(to, region=self._settings.default_region)  # type: ignore[arg-type]
            )
        now = self._ports.clock.now()
        edited = message.edited(
            at=now,
            recipients=recipients,
            subject=subject,
            html=html,
            text=text,
            links=as_links(links) if links is not None else None,
            scheduled_at=scheduled_at,
            expires_at=expires_at,
        )
        changed = [name for name, value in (
            ("recipients", recipients), ("subject", subject), ("html", html), ("text", text),
            ("links", links), ("scheduled_at", scheduled_at), ("expires_at", expires_at),
        ) if value is not None]  # fmt: skip
        event = AuditEvent(
            id=uuid7(now), at=now, actor_id=actor.id, action=AuditAction.EDITED,
            subject=message.id, details={"version": str(edited.version),
                                         "changed": ",".join(changed)},
        )  # fmt: skip
        if edited.key_scope != message.key_scope:
            # Another first client: its key seals the message now, so its scope holds the
            # attachments too (copied before the message points there).
            for attachment in message.attachments:
                data = await self._ports.blobs.get(message.key_scope, attachment.sha256)
                await self._ports.blobs.put(edited.key_scope, attachment.sha256, data)
        await self._ports.repository.update(edited, expected=message, events=[event])
        await self._index.upsert([edited])
        return edited

    async def cancel(self, actor: Actor, message_id: str) -> Message:
        """Withdraw a message that is not sent yet (DRAFT, QUEUED or DEFERRED)."""
        self._check_open()
        message = await self._ports.repository.get(message_id)
        self._ports.permissions.check(actor, Permission.CANCEL, message)
        if message.status not in _CANCELLABLE:
            raise IllegalTransition(message.id, message.status.value, MessageStatus.CANCELLED.value)
        now = self._ports.clock.now()
        cancelled = message.transition(MessageStatus.CANCELLED, at=now)
        event = AuditEvent(
            id=uuid7(now),
            at=now,
            actor_id=actor.id,
            action=AuditAction.CANCELLED,
            subject=message.id,
            details={"from": message.status.value},
        )
        await self._ports.repository.update(cancelled, expected=message, events=[event])
        await self._index.upsert([cancelled])
        return cancelled
