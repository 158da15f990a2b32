"""The outbox on fakes: send_due with leases, scheduled and deferred messages, resend."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from contos_messaging import (
    Actor,
    AttemptKind,
    BulkTarget,
    IllegalTransition,
    LinkedEntity,
    MessageStatus,
    Permission,
    PermissionDenied,
    TransportTemporaryError,
)
from contos_messaging.domain.integrity import LeaseTerms, Update
from contos_messaging.testing import RecordingEmailTransport, make_async_test_messenger

S = MessageStatus


@pytest.fixture
def transport() -> RecordingEmailTransport:
    return RecordingEmailTransport()


@pytest.fixture
async def messenger(clock, transport):
    async with make_async_test_messenger(clock=clock, email_transport=transport) as m:
        yield m


async def queued(messenger, clerk, *, after: timedelta = timedelta(0), to="a@example.com"):
    return await messenger.compose_email(
        clerk, to=to, subject="S", text="T", scheduled_at=messenger.ports.clock.now() + after
    )


async def test_send_due_sends_what_is_due_and_leaves_the_rest(messenger, clerk, clock, transport):
    now = await queued(messenger, clerk)
    later = await queued(messenger, clerk, after=timedelta(hours=1))
    draft = await messenger.compose_email(clerk, to="a@example.com", subject="S", text="T")
    report = await messenger.send_due()
    assert report.sent == (now.id,)
    assert (await messenger.get(later.id)).status is S.QUEUED
    assert (await messenger.get(draft.id)).status is S.DRAFT
    clock.advance(timedelta(hours=1))
    assert (await messenger.send_due()).sent == (later.id,)
    assert (await messenger.send_due()).attempts == ()
    assert [e.message.id for e in transport.sent] == [now.id, later.id]


async def test_deferred_messages_wait_for_their_retry_time(messenger, clerk, clock, transport):
    message = await queued(messenger, clerk)
    transport.fail_next(TransportTemporaryError("421 busy", code=421))
    assert (await messenger.send_due()).deferred == (message.id,)
    retry_at = (await messenger.get(message.id)).next_attempt_at
    assert (await messenger.send_due()).attempts == ()
    clock.set(retry_at)
    report = await messenger.send_due()
    assert report.sent == (message.id,)
    assert [a.kind for a in await messenger.send_log(message.id)] == [
        AttemptKind.SEND,
        AttemptKind.RETRY,
    ]


async def test_limit_and_batches(messenger, clerk):
    messages = [await queued(messenger, clerk) for _ in range(7)]
    assert len((await messenger.send_due(limit=3, batch=2)).sent) == 3
    assert len((await messenger.send_due(batch=2)).sent) == 4
    assert {(await messenger.get(m.id)).status for m in messages} == {S.SENT}


async def test_a_dead_senders_lease_expires_and_the_message_goes_again(
    messenger, clerk, clock, transport
):
    message = await queued(messenger, clerk)
    repo = messenger.ports.repository
    (dead,) = await repo.claim_due(
        LeaseTerms("dead-worker", clock.now(), clock.now() + timedelta(minutes=5))
    )
    assert (await messenger.send_due()).attempts == ()  # leased to the dead worker
    clock.advance(timedelta(minutes=6))
    report = await messenger.send_due()
    assert report.sent == (message.id,)
    stored = await messenger.get(message.id)
    assert stored.status is S.SENT
    assert stored.message_id_header == message.message_id_header
    with pytest.raises(Exception, match="changed concurrently"):
        await repo.update(
            Update(
                dead.message.transition(S.FAILED, at=clock.now()),
                dead.message,
                lease_token=dead.token,
            )
        )
    assert (await messenger.get(message.id)).status is S.SENT


async def test_bulk_generated_messages_go_out_through_the_outbox(messenger, clerk, transport):
    admin = Actor("admin", permissions={Permission.MANAGE_TEMPLATES})
    await messenger.templates.save(admin, "note", subject="Pro {{ n }}", html="<p>{{ n }}</p>")
    targets = [
        BulkTarget(links=[LinkedEntity.order(f"O-{n}")], to=f"k{n}@example.com", variables={"n": n})
        for n in range(5)
    ]
    report = await messenger.generate_bulk(clerk, "note", targets)
    assert len(report.created) == 5
    assert len((await messenger.send_due()).sent) == 5
    assert sorted(e.message.subject for e in transport.sent) == [f"Pro {n}" for n in range(5)]


async def test_resend_sends_again_with_the_same_message_id(messenger, clerk, transport):
    message = await messenger.compose_email(
        clerk, to="a@example.com, b@example.com", subject="S", text="T"
    )
    with pytest.raises(IllegalTransition):
        await messenger.resend(Actor.system(), message.id)
    await messenger.send(clerk, message.id)
    with pytest.raises(PermissionDenied):
        await messenger.resend(clerk, message.id)
    attempt = await messenger.resend(Actor.system(), message.id)
    assert attempt.kind is AttemptKind.RESEND
    assert attempt.accepted == ("a@example.com", "b@example.com")
    assert [e.message.message_id_header for e in transport.sent] == [
        message.message_id_header,
        message.message_id_header,
    ]
    assert [a.kind for a in await messenger.send_log(message.id)] == [
        AttemptKind.SEND,
        AttemptKind.RESEND,
    ]


async def test_watch_mode_keeps_sending_until_stopped(messenger, clerk, transport):
    """The watch loop picks up each message queued while it runs; the test waits for the
    loop's own progress reports (one per batch sent), not for time to pass."""
    seen: list[int] = []
    reported = {1: asyncio.Event(), 2: asyncio.Event()}

    def progress(sent: int, attempted: int) -> None:
        seen.append(sent)
        if sent in reported:
            reported[sent].set()

    worker = asyncio.create_task(messenger.send_due(watch=True, poll=0.01, progress=progress))
    first = await queued(messenger, clerk)
    await asyncio.wait_for(reported[1].wait(), 5)  # 5 s: only a guard against a hang
    assert [e.message.id for e in transport.sent] == [first.id]
    second = await queued(messenger, clerk)
    await asyncio.wait_for(reported[2].wait(), 5)
    messenger.stop_outbox()
    report = await asyncio.wait_for(worker, 5)
    assert report.sent == (first.id, second.id)
    assert [e.message.id for e in transport.sent] == [first.id, second.id]
    assert seen == [1, 2]  # one report per batch that sent something, none while idle
