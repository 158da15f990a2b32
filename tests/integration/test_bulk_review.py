"""Bulk runs for review and with attachments (issue 16, items 1 and 5), on the embedded store:
a run generated as drafts sends nothing until it is queued; each message has a ``created``
audit entry naming the actor, written with the batch; every message carries the run's
attachment and its target's own; a target whose attachment is refused fails alone."""

from __future__ import annotations

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Attachment,
    AuditAction,
    BulkTarget,
    Channel,
    Contact,
    InvalidMessage,
    LinkedEntity,
    MessageQuery,
    MessageStatus,
    Permission,
)
from contos_messaging.testing import InMemoryAddressBook, RecordingEmailTransport
from tests.integration.conftest import MASTER_KEY

JANA = Actor("jana", permissions={Permission.COMPOSE, Permission.SEND, Permission.EDIT})
CLIENTS = [LinkedEntity.client(f"C-{n}") for n in range(5)]
TERMS = b"%PDF-1.7 obchodni podminky " * 100


@pytest.fixture
async def messenger(tmp_path):
    book = InMemoryAddressBook(
        {c: Contact(f"Klient {c.id}", email=f"{c.id.lower()}@example.com") for c in CLIENTS}
    )
    transport = RecordingEmailTransport()
    messenger = await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, company_sender="info@contos.example.com",
        email_transport=transport, address_book=book,
    )  # fmt: skip
    await messenger.templates.save(
        Actor.system(), "vyuctovani", subject="Vyúčtování {{ client.id }}",
        text="Dobrý den, v příloze je vyúčtování.",
    )  # fmt: skip
    await messenger.templates.save(Actor.system(), "kod", channel=Channel.SMS, text="Kód")
    yield messenger
    await messenger.aclose()


async def test_a_draft_run_is_reviewed_then_queued_and_only_then_sent(messenger):
    targets = [
        BulkTarget(
            links=[client],
            attachments=[Attachment.from_bytes(f"vypis-{client.id}.pdf", client.id.encode() * 50)],
        )
        for client in CLIENTS
    ]
    report = await messenger.generate_bulk(
        JANA, "vyuctovani", targets, status="draft",
        attachments=[Attachment.from_bytes("podminky.pdf", TERMS)],
    )  # fmt: skip
    assert len(report.created) == 5
    assert report.failures == ()
    drafts = [await messenger.get(i) for i in report.created]
    assert {m.status for m in drafts} == {MessageStatus.DRAFT}
    assert [a.filename for a in drafts[0].attachments] == [
        "podminky.pdf",
        "vypis-C-0.pdf",
    ]
    download = await messenger.attachment(drafts[3].id, 1)
    assert b"".join([c async for c in download.chunks]) == b"C-3" * 50
    for message in drafts:
        (event,) = await messenger.audit(message.id)
        assert (event.action, event.actor_id, event.details["status"]) == (
            AuditAction.CREATED,
            "jana",
            "draft",
        )
    assert (await messenger.send_due()).outcomes == ()

    await messenger.edit(JANA, drafts[0].id, subject="Vyúčtování C-0 (opraveno)")
    queued = await messenger.queue(JANA, MessageQuery(template="vyuctovani"))
    assert sorted(queued.queued) == sorted(report.created)
    sent = await messenger.send_due()
    assert {o.status for o in sent} == {MessageStatus.SENT}
    assert len(messenger.ports.email_transport.sent) == 5


async def test_a_queued_run_has_its_created_entries_too_and_bad_attachments_fail_alone(
    messenger,
):
    targets = [
        BulkTarget(links=[CLIENTS[0]]),
        BulkTarget(
            links=[CLIENTS[1]], attachments=[Attachment.from_bytes("velky.bin", b"x" * 30_000_000)]
        ),
    ]
    report = await messenger.generate_bulk(JANA, "vyuctovani", targets)
    assert len(report.created) == 1
    (failure,) = report.failures
    assert failure.index == 1
    assert "attachments" in failure.reason
    (message,) = [await messenger.get(i) for i in report.created]
    assert message.status is MessageStatus.QUEUED
    assert [e.action for e in await messenger.audit(message.id)] == [AuditAction.CREATED]
    with pytest.raises(InvalidMessage, match="an SMS has no attachments"):
        await messenger.generate_bulk(
            JANA, "kod", [BulkTarget(links=[CLIENTS[0]], to="+420601123456")],
            attachments=[Attachment.from_bytes("a.pdf", b"%PDF")],
        )  # fmt: skip
    with pytest.raises(Exception, match="status must be 'queued' or 'draft'"):
        await messenger.generate_bulk(JANA, "vyuctovani", [CLIENTS[0]], status="sent")


async def test_html_rendered_from_a_template_is_sanitised_in_bulk_and_alone(messenger):
    await messenger.templates.save(
        Actor.system(), "letak", subject="Nabídka",
        html='<p onclick="x()">Dobrý den</p><script>steal()</script>'
        '<a href="{{ odkaz }}">nabídka</a><img src="https://tracker.example/{{ client.id }}.gif">',
    )  # fmt: skip
    report = await messenger.generate_bulk(
        JANA, "letak",
        [BulkTarget(links=[c], variables={"odkaz": "javascript:alert(1)"}) for c in CLIENTS[:2]],
    )  # fmt: skip
    single = await messenger.compose_from_template(
        JANA, "letak", links=[CLIENTS[2]], variables={"odkaz": "https://contos.example.cz/a"}
    )
    stored = [await messenger.get(i) for i in (*report.created, single.id)]
    for message in stored:
        assert message.html is not None
        assert "script" not in message.html
        assert "onclick" not in message.html
        assert "tracker" not in message.html
        assert "javascript" not in message.html
    assert stored[-1].html == (
        '<p>Dobrý den</p><a href="https://contos.example.cz/a" rel="noopener noreferrer">'
        "nabídka</a><img>"
    )
