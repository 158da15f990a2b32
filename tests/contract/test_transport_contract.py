"""Contract of the transport ports, run against the shipped recording fakes (later: real ones
against real peers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contos_messaging import TransportTemporaryError
from contos_messaging.adapters.memory import RecordingEmailTransport, RecordingSmsTransport, Refusal
from contos_messaging.ports import OutgoingEmail
from tests.factories import email, sms

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


async def test_email_report_has_one_outcome_per_envelope_recipient():
    transport = RecordingEmailTransport(refuse={"eva@example.com": Refusal(550, "no such user")})
    message = email(T0, to="jan@example.com, eva@example.com")
    report = await transport.send(OutgoingEmail(message))
    assert [(r.recipient, r.accepted, r.code) for r in report.recipients] == [
        ("jan@example.com", True, 250),
        ("eva@example.com", False, 550),
    ]
    assert not report.recipients[1].temporary
    assert transport.name == report.transport


async def test_email_sends_only_to_the_given_recipients():
    transport = RecordingEmailTransport()
    message = email(T0, to="jan@example.com, eva@example.com")
    report = await transport.send(OutgoingEmail(message, recipients=("eva@example.com",)))
    assert [r.recipient for r in report.recipients] == ["eva@example.com"]


async def test_sms_report_and_injected_failure():
    transport = RecordingSmsTransport()
    transport.fail_next(TransportTemporaryError("busy", code=421))
    with pytest.raises(TransportTemporaryError):
        await transport.send(sms(T0))
    report = await transport.send(sms(T0))
    assert [r.recipient for r in report.recipients] == ["+420601123456"]
    await transport.aclose()
    assert transport.closed
