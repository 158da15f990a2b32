"""What an adversarial review found against delivery reports, each as the attack that broke a
guarantee (on the fakes and on the embedded store alike): the same report racing itself, a
time zone that overflows the store, reports in every order, reports that come while the
message waits for a retry, a subclass of DeliveryReceipt, a host repository that lacks a part."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest

from contos_messaging import (
    AsyncMessenger,
    DeliveryReceipt,
    DeliveryState,
    InvalidInput,
    MessageStatus,
    TransportTemporaryError,
    UsageError,
)
from contos_messaging.testing import RecordingSmsTransport, Refusal, make_async_test_messenger
from tests.integration.conftest import MASTER_KEY
from tests.integration.test_delivery_reports import ADMIN, A, B, _sent_sms
from tests.integration.test_delivery_reports import sms_messenger as sms_messenger  # (fixture)

S = MessageStatus


def _receipt(transport, message_id, number, state, at=None, cls=DeliveryReceipt):
    provider_id = transport.provider_ids[(message_id, number)]
    when = at or datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    return cls(transport.name, provider_id, DeliveryState(state), when, number)


async def test_the_same_report_racing_itself_is_kept_once(sms_messenger):
    messenger, transport = sms_messenger
    sms = await _sent_sms(messenger)
    report = _receipt(transport, sms.id, A, "delivered")
    await asyncio.gather(*(messenger.record_delivery(report) for _ in range(5)))
    assert len(await messenger.deliveries(sms.id)) == 1
    await messenger.record_delivery(_receipt(transport, sms.id, B, "delivered"))
    assert (await messenger.get(sms.id)).status is S.DELIVERED


async def test_a_subclass_of_the_receipt_is_kept_once_as_a_plain_one(sms_messenger):
    class Relabelled(DeliveryReceipt):
        pass

    messenger, transport = sms_messenger
    sms = await _sent_sms(messenger, to=A)
    for _ in range(3):
        await messenger.record_delivery(_receipt(transport, sms.id, A, "delivered",
                                                 cls=Relabelled))  # fmt: skip
    (stored,) = await messenger.deliveries(sms.id)
    assert type(stored) is DeliveryReceipt


async def test_a_time_zone_beyond_the_dates_is_refused_and_nothing_is_poisoned(sms_messenger):
    messenger, transport = sms_messenger
    sms = await _sent_sms(messenger, to=A)
    minus_two = timezone(timedelta(hours=-2))
    late = _receipt(
        transport, sms.id, A, "delivered", at=datetime(9999, 12, 31, 23, tzinfo=minus_two)
    )
    with pytest.raises(InvalidInput, match="range of dates"):
        await messenger.record_delivery(late)
    assert await messenger.deliveries(sms.id) == []
    in_prague = datetime(2026, 12, 4, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    await messenger.record_delivery(_receipt(transport, sms.id, A, "delivered", at=in_prague))
    await messenger.record_delivery(  # the same instant in UTC: the same report
        _receipt(transport, sms.id, A, "delivered", at=in_prague.astimezone(UTC))
    )
    (stored,) = await messenger.deliveries(sms.id)
    assert stored.at == in_prague
    assert (await messenger.get(sms.id)).status is S.DELIVERED


class _Broken(tzinfo):
    def __init__(self, offset):
        self._offset = offset

    def utcoffset(self, dt):
        return self._offset

    def dst(self, dt):
        return None


@pytest.mark.parametrize("offset", [timedelta(hours=25), 3600])
async def test_a_time_zone_without_a_valid_offset_is_invalid_input(sms_messenger, offset):
    messenger, transport = sms_messenger
    sms = await _sent_sms(messenger, to=A)
    odd = datetime(2026, 12, 4, 10, tzinfo=_Broken(offset))
    with pytest.raises(InvalidInput, match="range of dates"):
        await messenger.record_delivery(_receipt(transport, sms.id, A, "delivered", at=odd))
    with pytest.raises(InvalidInput, match="since has a time zone without a valid offset"):
        await messenger.messages(since=odd)


async def test_reports_end_the_same_whatever_order_they_come_in(sms_messenger):
    messenger, transport = sms_messenger
    reports = [(A, "delivered"), (A, "undelivered"), (B, "delivered")]
    ends = set()
    for order in itertools.permutations(reports):
        sms = await _sent_sms(messenger)
        for number, state in order:
            await messenger.record_delivery(_receipt(transport, sms.id, number, state))
        ends.add((await messenger.get(sms.id)).status)
    assert ends == {S.DELIVERED}


async def test_reports_that_came_while_it_waited_for_a_retry_settle_it(sms_messenger, clock):
    """A accepted, B refused for now (deferred); A reported undelivered; B then refused for
    good: every accepted recipient is reported, so the message is UNDELIVERED."""
    messenger, transport = sms_messenger
    sms = await messenger.compose_sms(ADMIN, to=f"{A}, {B}", text="Kód 1234", links=[])
    transport.refuse[B] = Refusal(450, "try later")
    (first,) = await messenger.send(ADMIN, [sms.id])
    assert first.status is S.DEFERRED
    await messenger.record_delivery(_receipt(transport, sms.id, A, "undelivered"))
    transport.refuse[B] = Refusal(550, "no such number")
    clock.advance(timedelta(hours=1))
    (retried,) = (await messenger.send_due()).outcomes
    assert retried.status is S.PARTIALLY_SENT
    assert (await messenger.get(sms.id)).status is S.UNDELIVERED


async def test_a_resend_gets_ids_of_its_own_and_only_its_reports_count(sms_messenger):
    messenger, transport = sms_messenger
    sms = await _sent_sms(messenger)
    first_ids = {transport.provider_ids[(sms.id, n)] for n in (A, B)}
    await messenger.resend(ADMIN, sms.id)
    second_ids = {transport.provider_ids[(sms.id, n)] for n in (A, B)}
    assert len(second_ids) == 2
    assert not first_ids & second_ids
    await messenger.record_delivery(_receipt(transport, sms.id, A, "delivered"))
    assert (await messenger.get(sms.id)).status is S.SENT  # B of the resend not reported


@pytest.mark.parametrize("missing", ["message_for_delivery", "record_delivery", "deliveries"])
async def test_a_host_repository_without_a_part_gets_a_clear_usage_error(clock, missing):
    messenger = make_async_test_messenger(clock=clock)
    repository = type(messenger.ports.repository)

    class Partial(repository):  # type: ignore[misc,valid-type]
        pass

    setattr(Partial, missing, None)
    messenger.ports.repository.__class__ = Partial
    receipt = DeliveryReceipt("t", "p", DeliveryState.DELIVERED, clock.now())
    with pytest.raises(UsageError, match=f"has no {missing}"):
        await messenger.record_delivery(receipt)
    await messenger.aclose()


async def test_a_transient_failure_then_a_report_is_not_lost(sms_messenger, clock):
    messenger, transport = sms_messenger
    sms = await messenger.compose_sms(ADMIN, to=A, text="Kód 1234", links=[])
    transport.fail_next(TransportTemporaryError("busy", transport=transport.name))
    (first,) = await messenger.send(ADMIN, [sms.id])
    assert first.status is S.DEFERRED
    clock.advance(timedelta(hours=1))
    (sent,) = (await messenger.send_due()).outcomes
    assert sent.status is S.SENT
    await messenger.record_delivery(_receipt(transport, sms.id, A, "delivered"))
    assert (await messenger.get(sms.id)).status is S.DELIVERED


async def test_a_report_taken_by_another_process_while_the_send_is_in_flight_is_kept(
    tmp_path, clock
):
    """The provider's callback reaches the web process while the worker is still storing the
    attempt that names the id: the web process keeps it pending (sealed) and the worker takes
    it up once the attempt is stored."""
    gate, handed_over = asyncio.Event(), asyncio.Event()

    class Gated(RecordingSmsTransport):
        async def send(self, sms, /, *, recipients=None):
            report = await super().send(sms, recipients=recipients)
            handed_over.set()
            await gate.wait()
            return report

    transport, store = Gated(), tmp_path / "store"
    options = {"master_key": MASTER_KEY, "clock": clock,
               "company_sender": "info@contos.example.com"}  # fmt: skip
    async with (
        await AsyncMessenger.open(store, sms_transport=transport, **options) as worker,
        await AsyncMessenger.open(store, **options) as web,
    ):
        sms = await worker.compose_sms(ADMIN, to=A, text="Kód 1234", links=[])
        sending = asyncio.ensure_future(worker.send(ADMIN, [sms.id]))
        await handed_over.wait()
        report = DeliveryReceipt(
            transport.name, transport.provider_ids[(sms.id, A)], DeliveryState.DELIVERED,
            clock.now(), A, "ERR-PENDING-7",
        )  # fmt: skip
        assert await web.record_delivery(report) is None  # not stored yet: kept pending
        raw = b"".join(p.read_bytes() for p in store.rglob("*") if p.is_file())
        assert b"ERR-PENDING-7" not in raw
        assert A[1:].encode() not in raw
        gate.set()
        await sending
        assert (await web.get(sms.id)).status is S.DELIVERED
        assert [r.code for r in await web.deliveries(sms.id)] == ["ERR-PENDING-7"]
        assert await web.record_delivery(report) == sms.id  # (again: kept once)
        assert len(await worker.deliveries(sms.id)) == 1
