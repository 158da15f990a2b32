"""Sending chosen messages now: the "tick several and send" of the communication window (and
the claiming that resending shares). Each id gets its own outcome; the chosen messages are
claimed under the same leases as the outbox's, so a crash mid-send leaves nothing that the
outbox cannot take back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.integrity import Claim, LeaseTerms
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.send_log import AttemptKind
from contos_messaging.errors import (
    InvalidInput,
    KeyUnavailable,
    MessageNotFound,
    PermissionDenied,
)
from contos_messaging.services.core import Core
from contos_messaging.services.deliveries import settle_sent
from contos_messaging.services.send_report import SendOutcome, SendReport, SkipReason
from contos_messaging.services.sending import Sender
from contos_messaging.services.settings import Ports

__all__ = ["send", "send_chosen"]

_S = MessageStatus
_SENDABLE = frozenset({_S.DRAFT, _S.QUEUED, _S.DEFERRED, _S.SENDING})
_RESENDABLE = frozenset({_S.SENT, _S.PARTIALLY_SENT, _S.FAILED, _S.DELIVERED, _S.UNDELIVERED})
_REASON = {
    _S.SENT: SkipReason.ALREADY_SENT,
    _S.PARTIALLY_SENT: SkipReason.ALREADY_SENT,
    _S.DELIVERED: SkipReason.ALREADY_SENT,
    _S.UNDELIVERED: SkipReason.ALREADY_SENT,
    _S.FAILED: SkipReason.ALREADY_FAILED,
    _S.CANCELLED: SkipReason.CANCELLED,
    _S.EXPIRED: SkipReason.EXPIRED,
}


async def send(
    core: Core, actor: Actor, message_ids: str | Iterable[str], *, lease: timedelta
) -> SendReport:
    """See ``AsyncMessenger.send``."""
    ids = [message_ids] if isinstance(message_ids, str) else list(message_ids)
    for message_id in ids:
        if not isinstance(message_id, str) or not message_id:
            raise InvalidInput(f"message ids must be non-empty strings, got {message_id!r}")
    report, updated = await send_chosen(
        core.ports, core.sender, actor, list(dict.fromkeys(ids)),
        kind=AttemptKind.SEND, lease=lease, owner=core.owner,
    )  # fmt: skip
    await core.index.upsert(updated)
    await settle_sent(core.ports, core.index, updated)
    return report


async def _read(ports: Ports, ids: Sequence[str]) -> dict[str, Message]:
    """The messages that exist among ``ids``: a missing one, or one of an erased client still on
    disk (no key opens it), does not hide the others; it is reported as not found."""
    try:
        return {m.id: m for m in await ports.repository.get_many(ids)}
    except (MessageNotFound, KeyUnavailable):
        found = {}
        for message_id in ids:
            try:
                found[message_id] = await ports.repository.get(message_id)
            except (MessageNotFound, KeyUnavailable):
                continue
        return found


async def send_chosen(
    ports: Ports,
    sender: Sender,
    actor: Actor,
    ids: Sequence[str],
    *,
    kind: AttemptKind,
    lease: timedelta,
    owner: str,
) -> tuple[SendReport, list[Message]]:
    """Check, claim and send the messages ``ids`` in order; one outcome per id."""
    permission = Permission.RESEND if kind is AttemptKind.RESEND else Permission.SEND
    allowed = _RESENDABLE if kind is AttemptKind.RESEND else _SENDABLE
    found = await _read(ports, ids)
    skipped: dict[str, SendOutcome] = {}
    chosen: list[Message] = []
    for message_id in ids:
        message = found.get(message_id)
        if message is None:
            skipped[message_id] = SendOutcome(message_id, None, None, SkipReason.NOT_FOUND,
                                              "no message has this id")  # fmt: skip
            continue
        try:
            ports.permissions.check(actor, permission, message)
        except PermissionDenied as exc:
            skipped[message_id] = SendOutcome(
                message_id, message.status, None, SkipReason.NO_PERMISSION, str(exc)
            )
            continue
        if message.status not in allowed:
            reason = _REASON.get(message.status, SkipReason.CHANGED)
            skipped[message_id] = SendOutcome(message_id, message.status, None, reason,
                                              f"it is {message.status.value}")  # fmt: skip
            continue
        chosen.append(message)
    now = ports.clock.now()
    claims = await ports.repository.claim(
        chosen, LeaseTerms(owner, now, now + lease), queued_by=actor.id
    )
    held: list[Claim] = []
    for message, claim in zip(chosen, claims, strict=True):
        if claim is not None:
            held.append(claim)
        elif message.status is _S.SENDING:
            skipped[message.id] = SendOutcome(message.id, message.status, None,
                                              SkipReason.BEING_SENT,
                                              "another sender holds its lease")  # fmt: skip
        else:
            skipped[message.id] = SendOutcome(message.id, message.status, None,
                                              SkipReason.CHANGED,
                                              "it changed while being chosen")  # fmt: skip
    report, updated = await sender.run(
        held, actor=actor, kind=kind, lease=lease, owner=owner, parallel=False
    )
    done = {outcome.message_id: outcome for outcome in report.outcomes}
    ordered = tuple(done.get(i) or skipped[i] for i in ids)
    return SendReport(ordered, report.error), updated
