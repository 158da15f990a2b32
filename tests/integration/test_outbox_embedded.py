"""The outbox on the real store and a real SMTP server: two senders never send a message twice."""

from __future__ import annotations

import asyncio

from contos_messaging import AsyncMessenger, MessageStatus
from contos_messaging.testing.smtp import LocalSMTPServer
from tests.integration.conftest import MASTER_KEY


async def test_two_senders_on_one_store_send_each_message_once(store_dir, clerk):
    with LocalSMTPServer() as server:
        first = await AsyncMessenger.open(
            store_dir,
            master_key=MASTER_KEY,
            company_sender="info@contos.example.com",
            email_transport=server.transport(),
        )
        second = await AsyncMessenger.open(
            store_dir,
            master_key=MASTER_KEY,
            company_sender="info@contos.example.com",
            email_transport=server.transport(),
        )
        try:
            now = first.ports.clock.now()
            ids = [
                (
                    await first.compose_email(
                        clerk, to=f"k{i}@example.com", subject=f"S{i}", text="T", scheduled_at=now
                    )
                ).id
                for i in range(60)
            ]
            reports = await asyncio.gather(first.send_due(batch=7), second.send_due(batch=7))
            sent = [m for r in reports for m in r.sent]
            assert sorted(sent) == sorted(ids)
            assert all(r.sent for r in reports)  # both really worked
            assert sorted(m.message["Subject"] for m in server.messages) == sorted(
                f"S{i}" for i in range(60)
            )
            statuses = {(await first.get(i)).status for i in ids}
            assert statuses == {MessageStatus.SENT}
        finally:
            await first.aclose()
            await second.aclose()
