"""Sending outcomes: partial refusals, temporary and permanent failures, stopped transports."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from contos_messaging import (
    AttemptKind,
    AuthenticationFailed,
    MessageStatus,
    MessengerSettings,
    TransportPermanentError,
    TransportTemporaryError,
)
from contos_messaging.services.sending import retry_delay
from contos_messaging.testing import (
    RecordingEmailTransport,
    Refusal,
    make_async_test_messenger,
)

S = MessageStatus


@pytest.fixture
def transport() -> RecordingEmailTransport:
    return RecordingEmailTransport()


@pytest.fixture
async def messenger(clock, transport):
    async with make_async_test_messenger(clock=clock, email_transport=transport) as m:
        yield m


async def compose(messenger, clerk, to="jan@example.com, eva@example.com"):
    return await messenger.compose_email(clerk, to=to, subject="S", text="T")


async def test_a_permanent_refusal_of_one_recipient_is_partially_sent(messenger, clerk, transport):
    transport.refuse["eva@example.com"] = Refusal(550, "no such user")
    message = await compose(messenger, clerk)
    report = await messenger.send(clerk, message.id)
    assert report.partially_sent == (message.id,)
    (attempt,) = await messenger.send_log(message.id)
    assert attempt.accepted == ("jan@example.com",)
    assert [(r.recipient, r.code, r.reply) for r in attempt.recipients if not r.accepted] == [
        ("eva@example.com", 550, "no such user")
    ]


async def test_all_recipients_refused_permanently_is_failed(messenger, clerk, transport):
    transport.refuse.update({"jan@example.com": Refusal(550), "eva@example.com": Refusal(553)})
    message = await compose(messenger, clerk)
    assert (await messenger.send(clerk, message.id)).failed == (message.id,)


async def test_a_temporary_refusal_defers_and_the_retry_goes_only_to_the_pending_one(
    messenger, clerk, transport, clock
):
    transport.refuse["eva@example.com"] = Refusal(451, "try later")
    message = await compose(messenger, clerk)
    report = await messenger.send(clerk, message.id)
    assert report.deferred == (message.id,)
    deferred = await messenger.get(message.id)
    assert deferred.status is S.DEFERRED
    assert deferred.next_attempt_at > clock.now()
    del transport.refuse["eva@example.com"]
    clock.advance(timedelta(minutes=5))
    await messenger.send(clerk, message.id)
    _first, retry = await messenger.send_log(message.id)
    assert retry.kind is AttemptKind.RETRY
    assert retry.accepted == ("eva@example.com",)
    assert (await messenger.get(message.id)).status is S.SENT
    assert [e.recipients for e in transport.sent] == [
        ("jan@example.com", "eva@example.com"),
        ("eva@example.com",),
    ]


async def test_transport_errors_map_to_deferred_and_failed(messenger, clerk, transport):
    transport.fail_next(
        TransportTemporaryError("connection dropped"),
        TransportPermanentError("message refused", code=554, reply="spam"),
    )
    a = await compose(messenger, clerk)
    b = await compose(messenger, clerk)
    report = await messenger.send(clerk, [a.id, b.id])
    assert report.deferred == (a.id,)
    assert report.failed == (b.id,)
    (attempt,) = await messenger.send_log(b.id)
    assert {r.code for r in attempt.recipients} == {554}
    assert attempt.error == "message refused"


async def test_a_configuration_error_stops_the_transport_and_keeps_retries(
    messenger, clerk, transport
):
    transport.fail_next(AuthenticationFailed("535 authentication failed", code=535))
    a = await compose(messenger, clerk)
    b = await compose(messenger, clerk)
    sms = await messenger.compose_sms(clerk, to="601 123 456", text="x")
    report = await messenger.send(clerk, [a.id, b.id, sms.id])
    assert isinstance(report.error, AuthenticationFailed)
    assert set(report.not_attempted) == {a.id, b.id}
    assert report.sent == (sms.id,)
    stored = await messenger.get(a.id)
    assert stored.status is S.QUEUED
    assert stored.attempts == 0
    assert (await messenger.get(b.id)).status is S.DRAFT
    (attempt,) = await messenger.send_log(a.id)
    assert attempt.outcome is S.QUEUED
    assert "535" in attempt.error


async def test_giving_up_after_max_attempts(clock, clerk, transport):
    settings_sender = "ContOS <info@contos.example.com>"
    messenger = make_async_test_messenger(
        clock=clock, email_transport=transport, company_sender=settings_sender
    )
    message = await compose(messenger, clerk, to="jan@example.com")
    for _ in range(messenger.settings.max_attempts):
        transport.fail_next(TransportTemporaryError("busy", code=421))
        await messenger.send(clerk, message.id)
        clock.advance(timedelta(days=1))
    final = await messenger.get(message.id)
    assert final.status is S.FAILED
    assert "gave up" in (await messenger.send_log(message.id))[-1].error
    await messenger.aclose()


async def test_expired_messages_are_not_deferred(messenger, clerk, transport, clock):
    message = await messenger.compose_email(
        clerk, to="jan@example.com", subject="S", text="T", expires_at=clock.now()
    )
    transport.fail_next(TransportTemporaryError("busy"))
    await messenger.send(clerk, message.id)
    assert (await messenger.get(message.id)).status is S.EXPIRED


def test_retry_delay_doubles_within_jitter_and_is_capped():
    settings = MessengerSettings(
        company_sender="a@example.com",
        retry_base=timedelta(minutes=1),
        retry_max=timedelta(hours=1),
    )
    rng = random.Random(1)
    for attempt, base in [(1, 60), (2, 120), (3, 240), (10, 3600)]:
        seconds = retry_delay(attempt, settings, rng).total_seconds()
        assert 0.8 * base <= seconds <= 1.2 * base
