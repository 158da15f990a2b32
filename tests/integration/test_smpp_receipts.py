"""Delivery receipts from a real SMSC reach the store on their own (issue 17, item 4): a
messenger opened with the SMPP transport records each ``deliver_sm`` before it is
acknowledged, and the message becomes DELIVERED or UNDELIVERED."""

from __future__ import annotations

from contos_messaging import Actor, AsyncMessenger, DeliveryState, LinkedEntity, MessageStatus
from tests.integration.conftest import MASTER_KEY
from tests.integration.smpp_peer import (  # noqa: F401  (smpp_peer_fixture: the fixture)
    MOBILE,
    peer_transport,
    smpp_peer_fixture,
)

UNDELIVERABLE = "+420601119993"  # the peer answers it with an UNDELIV receipt


async def test_receipts_of_the_smsc_are_recorded_before_they_are_acknowledged(smpp_peer, tmp_path):
    actor = Actor.system()
    async with await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, company_sender="info@contos.example.com",
        sms_transport=peer_transport(smpp_peer),
    ) as messenger:  # fmt: skip
        reminder = await messenger.compose_sms(
            actor, to=MOBILE, text="Připomínka: zítra v 9:00", links=[LinkedEntity.client("C-1")]
        )
        both = await messenger.compose_sms(
            actor, to=f"{MOBILE}, {UNDELIVERABLE}", text="Objednavka je pripravena.",
            links=[LinkedEntity.client("C-2")],
        )  # fmt: skip
        report = await messenger.send(actor, [reminder.id, both.id])
        assert set(report.sent) == {reminder.id, both.id}
        # Each receipt is answered only once it is stored: three answers mean three stored.
        answered = await smpp_peer.wait_for("deliver_sm_resp", count=3)
        assert {event["status"] for event in answered} == {0}
        assert (await messenger.get(reminder.id)).status is MessageStatus.DELIVERED
        assert (await messenger.get(both.id)).status is MessageStatus.UNDELIVERED
        states = {r.recipient: r.state for r in await messenger.deliveries(both.id)}
        assert states == {MOBILE: DeliveryState.DELIVERED, UNDELIVERABLE: DeliveryState.UNDELIVERED}
        (receipt,) = await messenger.deliveries(reminder.id)
        (attempt,) = await messenger.send_log(reminder.id)
        assert receipt.provider_id == attempt.recipients[0].provider_id
        assert "stat:DELIVRD" in receipt.text


async def test_a_concatenated_sms_is_delivered_and_its_earlier_parts_receipts_leave_nothing_pending(
    smpp_peer, tmp_path
):
    """The SMSC sends a receipt for each part of a three-part SMS, each naming its own part's
    id: the message is DELIVERED by the receipt of its last part, and the receipts of the
    earlier parts (which no outcome names) are acknowledged without being kept as reports
    waiting for an attempt (a week of them for every long SMS, before)."""
    actor = Actor.system()
    async with await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, company_sender="info@contos.example.com",
        sms_transport=peer_transport(smpp_peer),
    ) as messenger:  # fmt: skip
        text = "Připomínka schůzky v pobočce Praha 4 – Budějovická. " * 3  # UCS-2: 3 parts
        long = await messenger.compose_sms(
            actor, to=MOBILE, text=text, links=[LinkedEntity.client("C-1")]
        )
        assert (await messenger.preview_sms(text)).segments == 3
        report = await messenger.send(actor, [long.id])
        assert report.sent == (long.id,)
        answered = await smpp_peer.wait_for("deliver_sm_resp", count=3)
        assert {event["status"] for event in answered} == {0}
        assert (await messenger.get(long.id)).status is MessageStatus.DELIVERED
        (receipt,) = await messenger.deliveries(long.id)
        assert receipt.state is DeliveryState.DELIVERED
        assert not await messenger.ports.repository.has_pending_deliveries()
