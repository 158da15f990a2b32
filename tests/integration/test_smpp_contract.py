"""The SMPP transport against the local node SMSC as its users see it: the shipped SMS
transport contract, and an SMS sent through the messenger with the SMSC's id in the send
log."""

from __future__ import annotations

from pathlib import Path

import pytest

from contos_messaging import Actor, AsyncMessenger, LinkedEntity, MessageStatus
from contos_messaging.adapters.smpp import SmppTransport
from contos_messaging.domain.message import Message
from contos_messaging.ports import DeliveryReport, SmsTransport
from contos_messaging.testing.contracts import SmsTransportContract
from tests.integration.conftest import MASTER_KEY
from tests.integration.smpp_peer import (  # noqa: F401  (smpp_peer_fixture: the fixture)
    MOBILE,
    SmppPeer,
    peer_transport,
    smpp_peer_fixture,
)


class _AfterPeer:
    """The transport under test, sending only once the peer ran the commands the contract
    gave it, and returning once the peer's record of the send has been read."""

    def __init__(self, transport: SmppTransport, peer: SmppPeer) -> None:
        self.transport = transport
        self.peer = peer
        self.commands: list[str] = []

    @property
    def name(self) -> str:
        return self.transport.name

    async def send(
        self, sms: Message, /, *, recipients: tuple[str, ...] | None = None
    ) -> DeliveryReport:
        while self.commands:
            await self.peer.command(self.commands.pop(0))
        try:
            return await self.transport.send(sms, recipients=recipients)
        finally:
            await self.peer.stats()

    async def aclose(self) -> None:
        await self.transport.aclose()


class TestSmppTransport(SmsTransportContract):
    """The shipped contract on the SMPP transport and the node SMSC (its 421 and 450 given
    as vendor statuses that are temporary, as an SMSC's own codes would be)."""

    @pytest.fixture(autouse=True)
    def _peer(self, smpp_peer: SmppPeer) -> None:
        self.peer = smpp_peer

    async def make_transport(self, directory: Path) -> SmsTransport:
        transport = peer_transport(self.peer, temporary_statuses=frozenset({421, 450}))
        self.wrapped = _AfterPeer(transport, self.peer)
        return self.wrapped

    def refuse_recipient(self, recipient: str, code: int, reply: str) -> None:
        self.wrapped.commands.append(f"refuse {recipient.lstrip('+')} {code}")

    def refuse_next_message(self, code: int, reply: str) -> None:
        self.wrapped.commands.append(f"refuse_next {code}")

    def delivered(self) -> list[tuple[str, ...]]:
        return [("+" + e["destination"],) for e in self.peer.of("submit_sm") if e["status"] == 0]


async def test_an_sms_sent_through_the_messenger_logs_the_smscs_id(smpp_peer, tmp_path):
    messenger = await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, company_sender="info@contos.example.com",
        sms_transport=peer_transport(smpp_peer),
    )  # fmt: skip
    try:
        message = await messenger.compose_sms(
            Actor.system(), to=MOBILE, text="Připomínka: zítra v 9:00",
            links=[LinkedEntity.client("C-1")],
        )  # fmt: skip
        (outcome,) = await messenger.send(Actor.system(), message.id)
        assert outcome.status is MessageStatus.SENT
        (attempt,) = await messenger.send_log(message.id)
    finally:
        await messenger.aclose()
    (submit,) = await smpp_peer.wait_for("submit_sm")
    (recipient,) = attempt.recipients
    assert (recipient.recipient, recipient.accepted) == (MOBILE, True)
    assert recipient.provider_id == submit["message_id"]
    assert attempt.transport == f"smpp:127.0.0.1:{smpp_peer.port}"
    assert bytes.fromhex(submit["short_message"]).decode("utf-16-be") == "Připomínka: zítra v 9:00"
