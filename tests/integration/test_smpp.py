"""SMS over SMPP 3.4 against a local SMSC on the ``smpp`` npm package (``tests/peers/smpp``,
an implementation independent of ours): the wire format (data_coding, septets, UTF-16BE, the
concatenation UDH), the submit window, refusals (throttled, invalid number, refused bind),
delivery receipts acknowledged only after the handler returned, a dropped connection and the
keep-alive. The shipped contract and the messenger: test_smpp_contract.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import gsm0338  # noqa: F401  (registers the independent "gsm03.38" codec)
import pytest

from contos_messaging.adapters.smpp import SmppTransport
from contos_messaging.domain.delivery import DeliveryReceipt, DeliveryState
from contos_messaging.errors import (
    AuthenticationFailed,
    ConfigurationError,
    TransportConfigurationError,
    TransportTemporaryError,
)
from contos_messaging.ports.transports import ReportsDeliveries
from tests.integration.smpp_peer import (  # noqa: F401  (smpp_peer_fixture: the fixture)
    MOBILE,
    PASSWORD,
    SYSTEM_ID,
    SmppPeer,
    peer_transport,
    smpp_peer_fixture,
    sms_message,
    start_peer,
)

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
OTHER = "+420602765432"
THROTTLED, INVALID = "+420601239991", "+420601239992"
UNDELIVERED, EXPIRED, MALFORMED = "+420601239993", "+420601239994", "+420601239995"


@pytest.fixture
async def transport(smpp_peer: SmppPeer):
    opened = peer_transport(smpp_peer)
    yield opened
    await opened.aclose()


def _decoded(event: dict[str, Any]) -> str:
    raw = bytes.fromhex(event["short_message"])
    return raw.decode("gsm03.38") if event["data_coding"] == 0 else raw.decode("utf-16-be")


# -- the wire format ----------------------------------------------------------------------------


async def test_a_one_part_gsm7_sms_goes_as_septets_with_data_coding_0(smpp_peer, transport):
    text = "Dobry den, Vase objednavka c. 2026/118 za 1 250 € je pripravena k vyzvednuti."
    report = await transport.send(sms_message(text))
    (submit,) = await smpp_peer.wait_for("submit_sm")
    assert submit["data_coding"] == 0
    assert submit["short_message"] == text.encode("gsm03.38").hex()
    assert "1b65" in submit["short_message"]  # (€: escape + 0x65, unpacked)
    assert (submit["esm_class"], submit["udh"], submit["registered_delivery"]) == (0, "", 1)
    assert (submit["destination"], submit["dest_addr_ton"]) == ("420601123456", 1)
    assert (submit["source"], submit["source_addr_ton"]) == ("ContOS", 5)
    (outcome,) = report.recipients
    assert (outcome.accepted, outcome.code, outcome.provider_id) == (
        True, 0, submit["message_id"],
    )  # fmt: skip
    assert report.transport == transport.name == f"smpp:127.0.0.1:{smpp_peer.port}"


async def test_a_text_with_czech_letters_goes_as_utf16_with_data_coding_8(smpp_peer, transport):
    text = "Dobrý den, řidiči, Vaše objednávka je připravena."
    await transport.send(sms_message(text))
    (submit,) = await smpp_peer.wait_for("submit_sm")
    assert submit["data_coding"] == 8
    assert submit["short_message"] == text.encode("utf-16-be").hex()


async def test_a_long_text_goes_as_three_parts_with_a_udh_and_reassembles(smpp_peer, transport):
    """The extension character at the first boundary goes whole into the second part."""
    text = "x" * 152 + "€" + "y" * 151 + "z" * 100
    report = await transport.send(sms_message(text))
    parts = await smpp_peer.wait_for("submit_sm", count=3)
    parts.sort(key=lambda e: e["udh"])
    udhs = [bytes.fromhex(e["udh"]) for e in parts]
    assert [u[:3] for u in udhs] == [b"\x05\x00\x03"] * 3
    assert len({u[3] for u in udhs}) == 1  # (one reference)
    assert [(u[4], u[5]) for u in udhs] == [(3, 1), (3, 2), (3, 3)]
    assert all(e["esm_class"] & 0x40 and e["data_coding"] == 0 for e in parts)
    assert parts[1]["short_message"].startswith("1b65")
    assert [len(bytes.fromhex(e["short_message"])) for e in parts] == [152, 153, 100]
    assert "".join(_decoded(e) for e in parts) == text
    (outcome,) = report.recipients
    assert outcome.provider_id == parts[2]["message_id"]  # (the last part's id)
    assert outcome.reply.split() == [e["message_id"] for e in parts]


# -- the window ---------------------------------------------------------------------------------


async def test_the_window_is_never_exceeded(smpp_peer):
    """With the SMSC holding its answers, exactly ``window`` submits wait; the rest go as
    answers come back."""
    numbers = [f"+42060112{n:04d}" for n in range(10)]
    transport = peer_transport(smpp_peer, window=4)
    await smpp_peer.command("hold")
    try:
        sending = asyncio.ensure_future(transport.send(sms_message(to=", ".join(numbers))))
        for seen, held in ((4, 4), (8, 4), (10, 2)):
            await smpp_peer.wait_for("submit_sm", count=seen)
            stats = await smpp_peer.stats()
            assert (stats["submits"], stats["held"]) == (seen, held)
            await smpp_peer.command("release")
        report = await sending
    finally:
        await smpp_peer.command("unhold")
        await transport.aclose()
    assert [o.accepted for o in report.recipients] == [True] * 10
    assert (await smpp_peer.stats())["max_outstanding"] == 4


# -- refusals -----------------------------------------------------------------------------------


async def test_a_throttled_message_is_temporary_with_a_backoff(transport):
    with pytest.raises(TransportTemporaryError) as first:
        await transport.send(sms_message(to=THROTTLED))
    assert (first.value.code, first.value.reply) == (0x58, "ESME_RTHROTTLED")
    with pytest.raises(TransportTemporaryError) as second:
        await transport.send(sms_message(to=THROTTLED))
    assert first.value.retry_after is not None
    assert second.value.retry_after is not None
    assert second.value.retry_after > first.value.retry_after


async def test_a_throttled_number_beside_an_accepted_one_is_retried_alone(transport):
    report = await transport.send(sms_message(to=f"{MOBILE}, {THROTTLED}"))
    assert [(o.recipient, o.accepted, o.temporary, o.code) for o in report.recipients] == [
        (MOBILE, True, False, 0),
        (THROTTLED, False, True, 0x58),
    ]


async def test_an_invalid_number_is_refused_for_good_and_only_it(transport):
    report = await transport.send(sms_message(to=f"{MOBILE}, {INVALID}"))
    accepted, refused = report.recipients
    assert (accepted.recipient, accepted.accepted) == (MOBILE, True)
    assert accepted.provider_id
    assert (refused.recipient, refused.accepted, refused.temporary) == (INVALID, False, False)
    assert (refused.code, refused.reply, refused.provider_id) == (0x0B, "ESME_RINVDSTADR", "")


async def test_a_wrong_password_stops_the_transport(smpp_peer):
    transport = peer_transport(smpp_peer, password="wrong")
    try:
        with pytest.raises(AuthenticationFailed) as info:
            await transport.send(sms_message())
    finally:
        await transport.aclose()
    assert isinstance(info.value, TransportConfigurationError)
    assert (info.value.code, info.value.reply) == (0x0E, "ESME_RINVPASWD")
    (bind,) = await smpp_peer.wait_for("bind")
    assert bind["status"] == 0x0E


async def test_an_smsc_that_cannot_be_reached_is_temporary():
    import socket

    with socket.socket() as probe:  # (a port nothing listens on)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = SmppTransport("127.0.0.1", port, system_id=SYSTEM_ID, password=PASSWORD)
    try:
        with pytest.raises(TransportTemporaryError, match="cannot bind to the SMSC"):
            await transport.send(sms_message())
    finally:
        await transport.aclose()


async def test_smpp_over_tls_with_a_private_ca_is_verified(tmp_path):
    """Accepted with the test's CA in the context, TLSFailure (a configuration error: the
    transport stops) with the system's trust store."""
    import ssl

    from contos_messaging.errors import TLSFailure
    from contos_messaging.testing.smtp import _certificate

    cert, key = _certificate(tmp_path)
    async with start_peer(tls=(cert, key)) as peer:
        trusting = peer_transport(peer, tls=ssl.create_default_context(cafile=str(cert)))
        doubting = peer_transport(peer, tls=True)
        try:
            report = await trusting.send(sms_message())
            with pytest.raises(TLSFailure, match="not trusted"):
                await doubting.send(sms_message())
        finally:
            await trusting.aclose()
            await doubting.aclose()
        (submit,) = await peer.wait_for("submit_sm")
    assert report.recipients[0].provider_id == submit["message_id"]


def test_settings_are_checked_when_it_is_made():
    with pytest.raises(ConfigurationError, match="at most 8"):
        SmppTransport("127.0.0.1", system_id="contos", password="much-too-long")
    with pytest.raises(ConfigurationError, match="window"):
        SmppTransport("127.0.0.1", system_id="contos", password="x", window=0)


async def test_a_closed_transport_unbinds_and_refuses_to_send(smpp_peer, transport):
    await transport.send(sms_message())
    await transport.aclose()
    await smpp_peer.wait_for("unbind")
    with pytest.raises(TransportConfigurationError, match="closed"):
        await transport.send(sms_message())


# -- receipts -----------------------------------------------------------------------------------


class Receipts:
    """A receipt handler that records what it gets, optionally gated or failing."""

    def __init__(self, *, fail: int = 0) -> None:
        self.got: list[DeliveryReceipt] = []
        self.called = asyncio.Event()
        self.gate: asyncio.Event | None = None
        self.fail = fail

    async def __call__(self, receipt: DeliveryReceipt) -> None:
        self.got.append(receipt)
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the store is down")


async def test_receipts_reach_the_handler_with_the_outcomes_ids(smpp_peer, transport):
    assert isinstance(transport, ReportsDeliveries)
    receipts = Receipts()
    transport.set_receipt_handler(receipts)
    report = await transport.send(sms_message(to=f"{MOBILE}, {UNDELIVERED}, {EXPIRED}"))
    await smpp_peer.wait_for("deliver_sm_resp", count=3)
    ids = {o.recipient: o.provider_id for o in report.recipients}
    got = {r.recipient: r for r in receipts.got}
    assert {n: (r.provider_id, r.state) for n, r in got.items()} == {
        MOBILE: (ids[MOBILE], DeliveryState.DELIVERED),
        UNDELIVERED: (ids[UNDELIVERED], DeliveryState.UNDELIVERED),
        EXPIRED: (ids[EXPIRED], DeliveryState.EXPIRED),  # (TLVs only, no text)
    }
    assert all(r.transport == transport.name for r in receipts.got)
    assert (got[MOBILE].code, got[UNDELIVERED].code, got[EXPIRED].code) == ("000", "012", "")
    assert got[MOBILE].text.startswith(f"id:{ids[MOBILE]} sub:001")
    assert got[MOBILE].at.tzinfo is UTC
    statuses = [e["status"] for e in smpp_peer.of("deliver_sm_resp")]
    assert statuses == [0, 0, 0]


async def test_a_receipt_is_acknowledged_only_after_the_handler_returns(smpp_peer, transport):
    receipts = Receipts()
    receipts.gate = asyncio.Event()
    transport.set_receipt_handler(receipts)
    first = (await transport.send(sms_message())).recipients[0].provider_id
    await receipts.called.wait()
    # A submit after the receipt came: the peer reads the connection in order, so had the
    # answer to the receipt been written, the peer would have read it before this submit.
    await transport.send(sms_message(to=OTHER))
    await smpp_peer.wait_for("submit_sm", count=2)
    await smpp_peer.stats()
    assert smpp_peer.of("deliver_sm_resp") == []
    receipts.gate.set()
    (answer,) = await smpp_peer.wait_for("deliver_sm_resp", lambda e: e["message_id"] == first)
    assert answer["status"] == 0


async def test_a_failing_handler_gets_the_receipt_again(smpp_peer, transport):
    receipts = Receipts(fail=1)
    transport.set_receipt_handler(receipts)
    report = await transport.send(sms_message())
    answers = await smpp_peer.wait_for("deliver_sm_resp", count=2)
    assert [(a["status"], a["attempt"]) for a in answers] == [(0x64, 1), (0, 2)]
    assert [r.provider_id for r in receipts.got] == [report.recipients[0].provider_id] * 2


async def test_without_a_handler_receipts_are_refused_for_later(smpp_peer, transport):
    await transport.send(sms_message())
    (answer,) = await smpp_peer.wait_for("deliver_sm_resp")
    assert answer["status"] == 0x64


async def test_an_unreadable_receipt_is_acknowledged_and_the_session_goes_on(smpp_peer, transport):
    receipts = Receipts()
    transport.set_receipt_handler(receipts)
    await transport.send(sms_message(to=MALFORMED))
    (answer,) = await smpp_peer.wait_for("deliver_sm_resp")
    assert answer["status"] == 0
    assert receipts.got == []
    report = await transport.send(sms_message())
    assert [o.accepted for o in report.recipients] == [True]


# -- the connection -----------------------------------------------------------------------------


async def test_a_dropped_connection_is_bound_again_at_once_and_the_next_send_works(smpp_peer):
    """With a receipt handler set, the transport binds again without waiting for a send (the
    second bind is also how the test knows it noticed the drop)."""
    transport = peer_transport(smpp_peer, reconnect_delay=0.05)
    transport.set_receipt_handler(Receipts())
    try:
        await transport.send(sms_message())
        await smpp_peer.command("drop")
        await smpp_peer.wait_for("bind", count=2)
        report = await transport.send(sms_message(to=OTHER))
    finally:
        await transport.aclose()
    assert [o.accepted for o in report.recipients] == [True]
    assert [b["status"] for b in smpp_peer.of("bind")] == [0, 0]


async def test_a_submit_in_flight_when_the_link_drops_is_temporary(smpp_peer, transport):
    await smpp_peer.command("drop_on_submit")
    with pytest.raises(TransportTemporaryError, match="at-least-once"):
        await transport.send(sms_message())
    report = await transport.send(sms_message())  # (bound again by this send)
    assert [o.accepted for o in report.recipients] == [True]
    assert len(smpp_peer.of("submit_sm")) == 1  # (the dropped one was not answered)
    assert [b["status"] for b in smpp_peer.of("bind")] == [0, 0]


async def test_enquire_link_keeps_the_session_alive(smpp_peer):
    transport = peer_transport(smpp_peer, enquire_link_interval=0.05)
    try:
        await transport.connect()
        await smpp_peer.wait_for("enquire_link", count=2)
        report = await transport.send(sms_message())
    finally:
        await transport.aclose()
    assert [o.accepted for o in report.recipients] == [True]
    assert len(smpp_peer.of("bind")) == 1
