"""verify() reports an attachment a stored message refers to that is gone (it reported 0
problems while sending the message raised BlobNotFound), on the fakes and the embedded store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contos_messaging import Actor, AsyncMessenger, Attachment, LinkedEntity
from contos_messaging.adapters.clock import ManualClock
from contos_messaging.testing import make_async_test_messenger
from tests.integration.conftest import MASTER_KEY


@pytest.fixture(params=["fakes", "embedded"])
async def messenger(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[AsyncMessenger]:
    if request.param == "fakes":
        opened = make_async_test_messenger(clock=clock)
    else:
        opened = await AsyncMessenger.open(
            tmp_path / "store", master_key=MASTER_KEY, clock=clock,
            company_sender="ContOS <info@contos.example.com>",
        )  # fmt: skip
    async with opened as m:
        yield m


async def test_verify_reports_an_attachment_that_a_message_refers_to_and_is_gone(messenger):
    message = await messenger.compose_email(
        Actor.system(), to="jan@example.com", subject="Smlouva", text="v příloze",
        attachments=[Attachment.from_bytes("smlouva.pdf", b"%PDF-1.4 smlouva")],
        links=[LinkedEntity.client("C-1")],
    )  # fmt: skip
    healthy = await messenger.verify()
    assert healthy.ok
    ((scope, key),) = await messenger.ports.repository.referenced_blobs()
    await messenger.ports.blobs.delete(scope, key)

    report = await messenger.verify()
    assert [p.object_id for p in report.problems] == [f"attachment:{scope}/{key}"]
    assert "gone" in report.problems[0].reason
    assert report.checked == healthy.checked - 1  # the deleted object is no longer opened
    assert (await messenger.get(message.id)).attachments[0].filename == "smlouva.pdf"
