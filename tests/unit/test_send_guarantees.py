"""Sending guarantees on fakes: nothing stuck after a sender dies mid-send, one message's
fault stays its own, who queued and who carried each attempt, idempotent composing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from contos_messaging import (
    Actor,
    Attachment,
    BulkTarget,
    IllegalTransition,
    LinkedEntity,
    MessageStatus,
    Permission,
    SkipReason,
)
from contos_messaging.domain.integrity import LeaseTerms
from contos_messaging.testing import RecordingEmailTransport, make_async_test_messenger

S = MessageStatus
ADMIN = Actor("admin", permissions={Permission.MANAGE_TEMPLATES})


class _Stalling(RecordingEmailTransport):
    """Blocks inside the first delivery until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def send(self, email, /):
        self.entered.set()
        await self.gate.wait()
        return await super().send(email)


@pytest.fixture
def transport() -> RecordingEmailTransport:
    return RecordingEmailTransport()


@pytest.fixture
async def messenger(clock, transport):
    async with make_async_test_messenger(clock=clock, email_transport=transport) as m:
        yield m


async def test_a_send_that_dies_mid_delivery_is_taken_back_by_the_outbox(clock, clerk):
    """The sending task is killed while the server has the message: the message is SENDING
    under a lease, nothing refuses it for ever, and after the lease the outbox sends it."""
    transport = _Stalling()
    async with make_async_test_messenger(clock=clock, email_transport=transport) as messenger:
        message = await messenger.compose_email(clerk, to="a@example.com", subject="S", text="T")
        sending = asyncio.create_task(messenger.send(clerk, message.id))
        await transport.entered.wait()
        sending.cancel()  # the process "dies" here
        with pytest.raises(asyncio.CancelledError):
            await sending
        stuck = await messenger.get(message.id)
        assert stuck.status is S.SENDING
        assert (await messenger.send_due()).outcomes == ()  # its lease has not ended yet
        with pytest.raises(IllegalTransition):
            await messenger.cancel(clerk, message.id)
        again = await messenger.send(clerk, message.id)
        assert again.skipped == {message.id: SkipReason.BEING_SENT}
        clock.advance(timedelta(minutes=5))
        transport.gate.set()
        report = await messenger.send_due()
        assert report.sent == (message.id,)
        (attempt,) = await messenger.send_log(message.id)
        assert attempt.queued_by == clerk.id  # who pressed send, recorded with the retry


async def test_send_takes_over_a_message_whose_lease_has_ended(messenger, clerk, clock):
    message = await messenger.compose_email(clerk, to="a@example.com", subject="S", text="T")
    repository = messenger.ports.repository
    now = clock.now()
    await repository.claim([message], LeaseTerms("dead", now, now + timedelta(1)))
    clock.advance(timedelta(days=1))
    assert (await messenger.send(clerk, message.id)).sent == (message.id,)


@pytest.mark.parametrize(
    "fault",
    [
        RuntimeError("token callback broke"),
        KeyError("x"),
        UnicodeEncodeError("ascii", "č", 0, 1, "no"),
    ],
)
async def test_any_exception_of_one_message_defers_only_that_message(
    messenger, clerk, transport, fault
):
    ids = [
        (await messenger.compose_email(clerk, to=f"k{i}@example.com", subject="S", text="T")).id
        for i in range(3)
    ]
    transport.fail_next(fault)
    report = await messenger.send(clerk, ids)
    assert report.deferred == (ids[0],)
    assert report.sent == (ids[1], ids[2])
    (attempt,) = await messenger.send_log(ids[0])
    assert attempt.error is not None
    assert attempt.error.startswith(type(fault).__name__ + ":")
    assert (await messenger.get(ids[0])).next_attempt_at is not None


async def test_a_missing_attachment_defers_the_message_with_the_reason(messenger, clerk):
    message = await messenger.compose_email(
        clerk, to="a@example.com", subject="S", text="T",
        attachments=[Attachment.from_bytes("a.pdf", b"%PDF")], links=[LinkedEntity.client("C-1")],
    )  # fmt: skip
    await messenger.ports.blobs.delete("C-1", message.attachments[0].sha256)
    report = await messenger.send(clerk, message.id)
    assert report.deferred == (message.id,)
    (attempt,) = await messenger.send_log(message.id)
    assert (attempt.error or "").startswith("BlobNotFound:")


async def test_the_outbox_records_who_queued_the_message_and_which_worker_carried_it(
    messenger, clerk, clock
):
    message = await messenger.compose_email(
        clerk, to="a@example.com", subject="S", text="T", scheduled_at=clock.now()
    )
    clock.advance(60)
    report = await messenger.send_due(actor=Actor("night-batch"))
    (attempt,) = report.attempts
    assert attempt.actor_id == "night-batch"
    assert (attempt.queued_by, attempt.queued_at) == (clerk.id, message.created_at)
    assert attempt.worker.count(":") == 2  # host:pid:messenger
    assert attempt.transport == "recording-email"
    assert (await messenger.send_log(message.id)) == [attempt]


async def test_the_report_has_one_outcome_per_id_in_order(messenger, clerk):
    ids = [
        (await messenger.compose_email(clerk, to=f"k{i}@example.com", subject="S", text="T")).id
        for i in range(3)
    ]
    report = await messenger.send(clerk, [ids[2], ids[0], ids[1]])
    assert [o.message_id for o in report] == [ids[2], ids[0], ids[1]]
    assert len(report) == 3
    assert all(o.status is S.SENT and o.attempt is not None for o in report)
    with pytest.raises(KeyError):
        report.outcome("not-in-it")


async def test_compose_with_the_same_idempotency_key_returns_the_first_message(messenger, clerk):
    first = await messenger.compose_email(
        clerk, to="a@example.com", subject="S", text="T", idempotency_key="k-1"
    )
    again = await messenger.compose_email(
        clerk, to="b@example.com", subject="Other", text="U", idempotency_key="k-1"
    )
    sms = await messenger.compose_sms(clerk, to="601 123 456", text="x", idempotency_key="k-2")
    sms_again = await messenger.compose_sms(
        clerk, to="601 123 456", text="x", idempotency_key="k-2"
    )
    assert again == first
    assert sms_again == sms
    assert len(await messenger.ports.repository.message_ids()) == 2
    assert len(await messenger.ports.repository.audit(first.id)) == 1


async def test_template_and_bulk_targets_take_idempotency_keys(messenger, clerk):
    await messenger.templates.save(ADMIN, "note", subject="Pro {{ n }}", text="{{ n }}")
    one = await messenger.compose_from_template(
        clerk, "note", to="a@example.com", variables={"n": 1}, idempotency_key="t-1"
    )
    assert (
        await messenger.compose_from_template(
            clerk, "note", to="a@example.com", variables={"n": 1}, idempotency_key="t-1"
        )
    ).id == one.id
    targets = [
        BulkTarget(links=[LinkedEntity.order(f"O-{n}")], to=f"k{n}@example.com",
                   variables={"n": n}, idempotency_key=f"run-7/{n}")
        for n in range(4)
    ]  # fmt: skip
    first = await messenger.generate_bulk(clerk, "note", targets[:2])
    retried = await messenger.generate_bulk(clerk, "note", targets)  # the host retries all
    assert retried.created[:2] == first.created
    assert len(set(retried.created)) == 4
    assert len(await messenger.ports.repository.message_ids()) == 5
