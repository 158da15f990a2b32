"""An erasure stopped after its first step (the client's keys destroyed, its rows still there),
on the shipped fakes and on the embedded store alike: a fake refuses exactly what its adapter
refuses. Reading the erased client's message raises KeyUnavailable (the client was erased); the
list, history and search pages leave it out and count it; the outbox never claims it; a
rebuild of the index goes past it; finishing the erasure removes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from contos_messaging import Actor, AsyncMessenger, LinkedEntity, MessageQuery
from contos_messaging.errors import KeyUnavailable
from contos_messaging.testing import RecordingEmailTransport, make_async_test_messenger
from tests.integration.conftest import MASTER_KEY

ORDER = LinkedEntity.order("O-1")
SENDER = "info@contos.example.com"


@pytest_asyncio.fixture(params=["fake", "embedded"])
async def messenger(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncMessenger]:
    transport = RecordingEmailTransport()
    if request.param == "fake":
        opened = make_async_test_messenger(company_sender=SENDER, email_transport=transport)
    else:
        opened = await AsyncMessenger.open(
            tmp_path / "store", master_key=MASTER_KEY, company_sender=SENDER,
            email_transport=transport,
        )  # fmt: skip
    try:
        yield opened
    finally:
        await opened.aclose()


async def _compose(messenger: AsyncMessenger, client: str, subject: str) -> str:
    message = await messenger.compose_email(
        Actor.system(), to=f"{client.lower()}@example.com", subject=subject, text="healthy",
        links=[LinkedEntity.client(client), ORDER],
    )  # fmt: skip
    return message.id


async def test_a_half_erased_client_is_refused_alike_by_the_fake_and_the_store(messenger):
    healthy = await _compose(messenger, "C-8", "C-8 healthy")
    erased = await _compose(messenger, "C-9", "C-9 healthy")
    await messenger.queue(Actor.system(), [healthy, erased])
    await messenger.ports.keys.destroy("C-9")  # erase_client's first step; then "a crash"

    with pytest.raises(KeyUnavailable, match="the client was erased"):
        await messenger.get(erased)
    assert (await messenger.get(healthy)).id == healthy
    page = await messenger.history(ORDER)
    assert ([m.id for m in page], page.total, page.erased) == ([healthy], 2, 1)
    listed = await messenger.messages(MessageQuery(linked=ORDER))
    assert ([m.id for m in listed], listed.total, listed.erased) == ([healthy], 2, 1)
    found = await messenger.search("healthy")
    assert ([h.message.id for h in found.hits], found.total, found.erased) == ([healthy], 2, 1)

    report = await messenger.send_due()
    assert report.sent == (healthy,)
    transport = messenger.ports.email_transport
    assert isinstance(transport, RecordingEmailTransport)
    assert [email.message.id for email in transport.sent] == [healthy]
    assert await messenger.reindex() == 1

    assert await messenger.erase_client(Actor.system(), "C-9") == (erased,)
    page = await messenger.history(ORDER)
    assert ([m.id for m in page], page.total, page.erased) == ([healthy], 1, 0)
