"""Delivery reports (issue 17, item 4): a gateway's report finds its message by the provider id
the send log keeps, is stored sealed, and moves the message to DELIVERED or UNDELIVERED once
every accepted recipient is reported; on the fakes and on the embedded store alike. Tried
against what breaks it: the report that overtakes the attempt it names, the report sent twice,
the report of an erased client, the report nobody sent, bad values."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    DeliveryReceipt,
    DeliveryState,
    InvalidInput,
    LinkedEntity,
    MessageStatus,
    UsageError,
)
from contos_messaging.testing import RecordingSmsTransport, make_async_test_messenger
from tests.integration.conftest import MASTER_KEY, all_files

ADMIN = Actor.system()
C1, C2 = LinkedEntity.client("C-1"), LinkedEntity.client("C-2")
A, B = "+420601123456", "+420602987654"
S = MessageStatus


@pytest.fixture(params=["fakes", "embedded"])
async def sms_messenger(request, tmp_path, clock):
    transport = RecordingSmsTransport()
    if request.param == "fakes":
        opened = make_async_test_messenger(clock=clock, sms_transport=transport)
    else:
        opened = await AsyncMessenger.open(
            tmp_path / "store", master_key=MASTER_KEY, clock=clock, sms_transport=transport,
            company_sender="ContOS <info@contos.example.com>",
        )  # fmt: skip
    async with opened as messenger:
        yield messenger, transport


async def _sent_sms(messenger, to=f"{A}, {B}", links=(C1,)):
    sms = await messenger.compose_sms(ADMIN, to=to, text="Objednávka je připravena.", links=links)
    report = await messenger.send(ADMIN, [sms.id])
    assert report.sent == (sms.id,)
    return sms


async def test_reports_of_every_recipient_make_the_message_delivered(sms_messenger):
    messenger, transport = sms_messenger
    sms = await _sent_sms(messenger)
    log = await messenger.send_log(sms.id)
    assert {r.recipient: r.provider_id for r in log[-1].recipients} == {
        A: transport.provider_ids[(sms.id, A)], B: transport.provider_ids[(sms.id, B)],
    }  # fmt: skip
    await transport.report(sms.id, A, "accepted")
    await transport.report(sms.id, A, DeliveryState.DELIVERED)
    assert (await messenger.get(sms.id)).status is S.SENT  # B not reported yet
    await transport.report(sms.id, B, "delivered", code="000")
    assert (await messenger.get(sms.id)).status is S.DELIVERED
    reports = await messenger.deliveries(sms.id)
    assert [(r.recipient, r.state) for r in reports] == [
        (A, DeliveryState.ACCEPTED), (A, DeliveryState.DELIVERED), (B, DeliveryState.DELIVERED),
    ]  # fmt: skip
    assert reports[-1].code == "000"
    audit = await messenger.audit(sms.id)
    assert audit[-1].details["to"] == "delivered"
    assert "delivery report" in audit[-1].details["by"]
    assert [m.id for m in await messenger.messages(status="delivered")] == [sms.id]
    assert (await messenger.search("objednavka", status="delivered")).total == 1


async def test_one_recipient_undelivered_or_expired_makes_it_undelivered(sms_messenger):
    messenger, transport = sms_messenger
    sms = await _sent_sms(messenger)
    await transport.report(sms.id, A, "expired")
    assert (await messenger.get(sms.id)).status is S.SENT
    await transport.report(sms.id, B, "delivered")
    assert (await messenger.get(sms.id)).status is S.UNDELIVERED
    # A late "accepted" changes nothing; a resend starts over, and its own reports count.
    await transport.report(sms.id, A, "accepted")
    assert (await messenger.get(sms.id)).status is S.UNDELIVERED
    await messenger.resend(ADMIN, sms.id)
    assert (await messenger.get(sms.id)).status is S.SENT
    for number in (A, B):
        await transport.report(sms.id, number, "delivered")
    assert (await messenger.get(sms.id)).status is S.DELIVERED


async def test_the_same_report_twice_is_kept_once(sms_messenger, clock):
    messenger, transport = sms_messenger
    sms = await _sent_sms(messenger, to=A)
    at = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    for _ in range(3):  # the gateway did not get our acknowledgement and sends it again
        await transport.report(sms.id, A, "delivered", at=at)
    assert len(await messenger.deliveries(sms.id)) == 1
    assert len([e for e in await messenger.audit(sms.id) if e.details.get("to")]) == 1


async def test_a_report_that_overtakes_its_attempt_waits_for_it(tmp_path, clock):
    """The gateway answers the submit and reports delivery at once, before the outbox has
    stored the attempt that names the provider id: the report is kept, not dropped."""
    gate, delivered = asyncio.Event(), asyncio.Event()

    class Gated(RecordingSmsTransport):
        async def send(self, sms, /, *, recipients=None):
            report = await super().send(sms, recipients=recipients)
            delivered.set()  # the gateway has the SMS (and reports it) ...
            await gate.wait()  # ... before we are back to store the attempt
            return report

    transport = Gated()
    async with await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, clock=clock, sms_transport=transport,
        company_sender="ContOS <info@contos.example.com>",
    ) as messenger:  # fmt: skip
        repository = messenger.ports.repository
        lookup, looked = repository.message_for_delivery, asyncio.Event()

        async def first_lookup(*args):
            found = await lookup(*args)
            looked.set()
            return found

        repository.message_for_delivery = first_lookup
        sms = await messenger.compose_sms(ADMIN, to=A, text="Kód 1234", links=[C1])
        sending = asyncio.ensure_future(messenger.send(ADMIN, [sms.id]))
        await delivered.wait()
        reporting = asyncio.ensure_future(transport.report(sms.id, A, "delivered"))
        await looked.wait()  # it looked for its message, which is not stored yet
        gate.set()
        await sending
        await reporting
        assert (await messenger.get(sms.id)).status is S.DELIVERED


async def test_reports_nobody_sent_or_of_an_erased_client_are_left_out(sms_messenger, clock):
    messenger, transport = sms_messenger
    stranger = DeliveryReceipt("recording-sms", "not-ours-1", DeliveryState.DELIVERED, clock.now())
    assert await messenger.record_delivery(stranger) is None
    other = DeliveryReceipt("another-gateway", "recording-sms-1", DeliveryState.DELIVERED,
                            clock.now())  # fmt: skip
    assert await messenger.record_delivery(other) is None
    sms = await _sent_sms(messenger, to=A, links=(C2,))
    await messenger.erase_client(ADMIN, "C-2")
    late = DeliveryReceipt(
        "recording-sms", transport.provider_ids[(sms.id, A)], DeliveryState.DELIVERED,
        clock.now(), A,
    )  # fmt: skip
    assert await messenger.record_delivery(late) is None


@pytest.mark.parametrize(
    ("receipt", "words"),
    [
        ("delivered", "receipt takes DeliveryReceipt, got str"),
        (DeliveryReceipt("t", "", DeliveryState.DELIVERED, datetime.now(UTC)), "provider id"),
        (DeliveryReceipt("t", "p", "delivered", datetime.now(UTC)), "must be a DeliveryState"),  # type: ignore[arg-type]
        (DeliveryReceipt("t", "p", DeliveryState.DELIVERED, datetime(2026, 1, 1)), "time zone"),
        (DeliveryReceipt("t", "p" * 1001, DeliveryState.DELIVERED, datetime.now(UTC)), "1,000"),
        (DeliveryReceipt("t", 5, DeliveryState.DELIVERED, datetime.now(UTC)), "must be text"),  # type: ignore[arg-type]
        (DeliveryReceipt("t", "p\ud800", DeliveryState.DELIVERED, datetime.now(UTC)), "surrogate"),
    ],
)
async def test_a_bad_report_is_refused_with_what_is_wrong(sms_messenger, receipt, words):
    messenger, _transport = sms_messenger
    with pytest.raises(InvalidInput, match=words):
        await messenger.record_delivery(receipt)


async def test_reports_on_disk_are_sealed_and_erased_with_their_client(tmp_path, clock):
    transport = RecordingSmsTransport()
    store = tmp_path / "store"
    async with await AsyncMessenger.open(
        store, master_key=MASTER_KEY, clock=clock, sms_transport=transport,
        company_sender="ContOS <info@contos.example.com>",
    ) as messenger:  # fmt: skip
        sms = await _sent_sms(messenger, to=A)
        await transport.report(sms.id, A, "delivered", code="ERR-SECRET-42")
        assert (await messenger.verify()).problems == ()
        checked = (await messenger.verify()).checked
    raw = b"".join(path.read_bytes() for path in all_files(store))
    for secret in (b"ERR-SECRET-42", A.encode(), A[1:].encode()):
        assert secret not in raw
    async with await AsyncMessenger.open(
        store, master_key=MASTER_KEY, clock=clock, sms_transport=RecordingSmsTransport(),
        company_sender="ContOS <info@contos.example.com>",
    ) as messenger:  # fmt: skip
        assert checked == (await messenger.verify()).checked
        await messenger.erase_client(ADMIN, "C-1")
        with sqlite3.connect(store / "messages.sqlite") as db:
            assert db.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)
            assert db.execute("SELECT count(*) FROM provider_refs").fetchone() == (0,)
        db.close()


async def test_the_messenger_listens_to_its_transport_only_while_open(tmp_path, clock):
    transport = RecordingSmsTransport()
    messenger = make_async_test_messenger(clock=clock, sms_transport=transport)
    sms = await _sent_sms(messenger, to=A)
    await messenger.aclose()
    with pytest.raises(UsageError, match="no messenger receives"):
        await transport.report(sms.id, A, "delivered")


async def test_reports_arriving_together_still_settle_the_message(sms_messenger):
    """Two reports handled at once (two web processes, two tasks): each may read the reports
    before the other's is stored; the message still ends where both say."""
    messenger, transport = sms_messenger
    for states in (("delivered", "delivered"), ("delivered", "undelivered")):
        sms = await _sent_sms(messenger)
        await asyncio.gather(
            transport.report(sms.id, A, states[0]), transport.report(sms.id, B, states[1])
        )
        wanted = S.DELIVERED if states[1] == "delivered" else S.UNDELIVERED
        assert (await messenger.get(sms.id)).status is wanted
        assert len(await messenger.deliveries(sms.id)) == 2
