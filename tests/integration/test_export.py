"""Export and download (issue 16, item 6) on the embedded store: the .eml of a message is the
very bytes the SMTP server received when it was sent (Bcc only when asked), an attachment comes
back byte for byte in chunks without being held whole, the audit trail names who did what;
bad ids and indexes get typed errors; the blocking facade does the same."""

from __future__ import annotations

import email
import email.policy
import os
import re
from pathlib import Path

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Attachment,
    AttachmentDownload,
    AuditAction,
    BlockingAttachmentDownload,
    InvalidInput,
    LinkedEntity,
    MessageNotFound,
    MessageStatus,
    Messenger,
    Permission,
)
from contos_messaging.testing.smtp import LocalSMTPServer
from tests.integration.conftest import MASTER_KEY

SENDER = "ContOS <info@contos.example.com>"
CLERK = Actor(
    "jana", permissions={Permission.COMPOSE, Permission.SEND, Permission.EDIT, Permission.CANCEL}
)
ORDER = LinkedEntity.order("O-7")
PDF = b"%PDF-1.7\n" + os.urandom(3 * 1024 * 1024 + 17)  # several chunks, not a multiple


@pytest.fixture
def server():
    with LocalSMTPServer() as running:
        yield running


def _same_boundaries(data: bytes) -> bytes:
    """``data`` with its MIME boundaries (random for each build) numbered in order."""
    found: list[bytes] = []
    for boundary in re.findall(rb"=_contos_[0-9a-f]{32}", data):
        if boundary not in found:
            found.append(boundary)
    for n, boundary in enumerate(found):
        data = data.replace(boundary, b"=_boundary_%d" % n)
    return data


async def _open(store: Path, server: LocalSMTPServer) -> AsyncMessenger:
    return await AsyncMessenger.open(
        store, master_key=MASTER_KEY, company_sender=SENDER, email_transport=server.transport()
    )


async def test_the_eml_is_what_the_server_received_and_bcc_only_when_asked(tmp_path, server):
    messenger = await _open(tmp_path / "store", server)
    try:
        message = await messenger.compose_email(
            Actor.system(), to="Jan Novák <jan@example.com>", cc="eva@example.com",
            bcc="archiv@contos.example.com", subject="Potvrzení objednávky č. 7",
            html="<p>Dobrý den, posíláme <b>potvrzení</b>.</p>", links=[ORDER],
            attachments=[Attachment.from_bytes("potvrzení.pdf", PDF)],
        )  # fmt: skip
        before = await messenger.export_eml(message.id)
        report = await messenger.send(Actor.system(), message.id)
        assert [outcome.status for outcome in report] == [MessageStatus.SENT]
        after = await messenger.export_eml(message.id)
        with_bcc = await messenger.export_eml(message.id, bcc=True)
    finally:
        await messenger.aclose()

    (received,) = server.messages
    wire = received.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert _same_boundaries(before) == _same_boundaries(after) == _same_boundaries(wire)
    assert len(after) == len(wire)
    parsed = email.message_from_bytes(after, policy=email.policy.default)
    assert parsed["Subject"] == "Potvrzení objednávky č. 7"
    assert parsed["Message-ID"] == message.message_id_header
    assert parsed["Bcc"] is None
    (part,) = list(parsed.iter_attachments())
    assert part.get_filename() == "potvrzení.pdf"
    assert part.get_content() == PDF
    assert sorted(received.recipients) == sorted(
        ["jan@example.com", "eva@example.com", "archiv@contos.example.com"]
    )
    parsed_bcc = email.message_from_bytes(with_bcc, policy=email.policy.default)
    assert parsed_bcc["Bcc"] == "archiv@contos.example.com"
    without = with_bcc.replace(b"Bcc: archiv@contos.example.com\r\n", b"")
    assert _same_boundaries(without) == _same_boundaries(after)


async def test_an_attachment_downloads_in_chunks_byte_for_byte(tmp_path, server):
    messenger = await _open(tmp_path / "store", server)
    try:
        message = await messenger.compose_email(
            Actor.system(), to="jan@example.com", subject="Dvě přílohy", text="v příloze",
            links=[ORDER],
            attachments=[
                Attachment.from_bytes("smlouva.pdf", PDF),
                Attachment.from_bytes("seznam.csv", "č;položka\n1;pojištění\n".encode()),
            ],
        )  # fmt: skip
        download = await messenger.attachment(message.id, 0)
        assert isinstance(download, AttachmentDownload)
        assert (download.attachment.filename, download.attachment.size) == (
            "smlouva.pdf",
            len(PDF),
        )
        assert download.attachment.content_type == "application/pdf"
        chunks = [chunk async for chunk in download.chunks]
        assert len(chunks) == 4  # (1 MiB each)
        assert max(map(len, chunks)) <= 1024 * 1024
        assert b"".join(chunks) == PDF
        csv = await messenger.attachment(message.id, 1)
        assert b"".join([c async for c in csv.chunks]).decode() == "č;položka\n1;pojištění\n"

        for index in (2, -1, 10**10):
            with pytest.raises(InvalidInput, match="has 2 attachment"):
                await messenger.attachment(message.id, index)
        with pytest.raises(MessageNotFound):
            await messenger.attachment("0191f0a0-0000-7000-8000-000000000000", 0)
        sms = await messenger.compose_sms(
            Actor.system(), to="+420601123456", text="Kód 1234", links=[ORDER]
        )
        with pytest.raises(InvalidInput, match="SMS"):
            await messenger.export_eml(sms.id)
        with pytest.raises(InvalidInput, match="has 0 attachment"):
            await messenger.attachment(sms.id, 0)
    finally:
        await messenger.aclose()


async def test_the_audit_trail_names_who_did_what(tmp_path, server):
    messenger = await _open(tmp_path / "store", server)
    try:
        draft = await messenger.compose_email(
            CLERK, to="jan@example.com", subject="Návrh", text="první verze", links=[ORDER],
        )  # fmt: skip
        await messenger.edit(CLERK, draft.id, subject="Návrh 2")
        await messenger.cancel(CLERK, draft.id)
        events = await messenger.audit(draft.id)
        with pytest.raises(MessageNotFound):
            await messenger.audit("0191f0a0-0000-7000-8000-000000000000")
        assert await messenger.audit("client:C-77") == []
        await messenger.compose_email(
            CLERK, to="jan@example.com", subject="Smlouva", text="text",
            links=[LinkedEntity.client("C-77")],
        )  # fmt: skip
        await messenger.erase_client(Actor.system(), "C-77")
        (tombstone,) = await messenger.audit("client:C-77")
        assert (tombstone.action, tombstone.subject) == (AuditAction.ERASED, "client:C-77")
        with pytest.raises(MessageNotFound):
            await messenger.audit("client:")
    finally:
        await messenger.aclose()
    assert [(e.action, e.actor_id) for e in events] == [
        (AuditAction.CREATED, "jana"),
        (AuditAction.EDITED, "jana"),
        (AuditAction.CANCELLED, "jana"),
    ]
    assert all(e.subject == draft.id for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)


def test_the_blocking_messenger_exports_and_streams_too(tmp_path, server):
    with Messenger.open(
        tmp_path / "store", master_key=MASTER_KEY, company_sender=SENDER,
        email_transport=server.transport(),
    ) as messenger:  # fmt: skip
        message = messenger.compose_email(
            Actor.system(), to="jan@example.com", subject="Výpis", text="v příloze",
            links=[ORDER], attachments=[Attachment.from_bytes("vypis.pdf", PDF)],
        )  # fmt: skip
        download = messenger.attachment(message.id, 0)
        assert isinstance(download, BlockingAttachmentDownload)
        chunks = list(download.chunks)
        assert len(chunks) == 4
        assert b"".join(chunks) == PDF
        eml = messenger.export_eml(message.id)
        assert email.message_from_bytes(eml, policy=email.policy.default)["Subject"] == "Výpis"
        assert [e.action for e in messenger.audit(message.id)] == [AuditAction.CREATED]
