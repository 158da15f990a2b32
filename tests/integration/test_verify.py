"""verify() reports an attachment a stored message refers to that is gone (it reported 0
problems while sending the message raised BlobNotFound), on the fakes and the embedded store."""

from __future__ import annotations

import pytest

from contos_messaging import Actor, AsyncMessenger, Attachment, LinkedEntity


@pytest.fixture
def messenger(fakes_or_embedded: AsyncMessenger) -> AsyncMessenger:
    return fakes_or_embedded


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
