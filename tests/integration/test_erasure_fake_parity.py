"""An erasure stopped after its first step (the client's keys destroyed, its rows still there),
on the shipped fakes and on the embedded store alike: a fake refuses exactly what its adapter
refuses. Reading the erased client's message raises KeyUnavailable (the client was erased); the
list, history and search pages leave it out and count it; the outbox never claims it; a
rebuild of the index goes past it; nothing new is stored for the client (nor by a bulk run
naming a key its erased message holds); verify reports its message and send log; finishing the
erasure removes it, and still nothing new can be written for the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from contos_messaging import Actor, AsyncMessenger, BulkTarget, LinkedEntity, MessageQuery
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


async def test_nothing_new_is_stored_for_a_half_or_wholly_erased_client_and_verify_says_so(
    messenger,
):
    actor = Actor.system()
    await messenger.templates.save(actor, "t", subject="S", text="Dobrý den")
    healthy = await _compose(messenger, "C-8", "C-8 healthy")
    keyed = await messenger.compose_email(
        actor, to="c9@example.com", subject="C-9", text="t", idempotency_key="k-1",
        links=[LinkedEntity.client("C-9")],
    )  # fmt: skip
    await messenger.ports.keys.destroy("C-9")
    c9 = LinkedEntity.client("C-9")

    for attempt in range(2):  # half erased, then erased through
        with pytest.raises(KeyUnavailable, match="the client was erased"):
            await messenger.compose_email(actor, to="x@example.com", subject="s", text="t",
                                          links=[c9])  # fmt: skip
        with pytest.raises(KeyUnavailable, match="the client was erased"):
            await messenger.generate_bulk(
                actor, "t", [BulkTarget(links=(c9,), to="x@example.com", idempotency_key="k-1")]
            )
        if attempt == 0:
            report = await messenger.verify()
            assert [p.object_id for p in report.problems] == [f"message:{keyed.id}"]
            assert "the client was erased" in report.problems[0].reason
            assert await messenger.erase_client(actor, "C-9") == (keyed.id,)
    assert (await messenger.verify()).problems == ()
    assert [m.id for m in await messenger.history(c9)] == []
    assert (await messenger.get(healthy)).id == healthy
