"""Templates with attachments and attachments edited (issue 16, item 1), on the embedded
store: the order confirmation's PDF goes with the message rendered from the template, which
keeps its template name and version; edit adds and removes attachments of an unsent message;
a refused change stores nothing."""

from __future__ import annotations

import email
import email.policy

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Attachment,
    AuditAction,
    Channel,
    Contact,
    IllegalTransition,
    InvalidAttachment,
    InvalidMessage,
    LimitExceeded,
    Limits,
    LinkedEntity,
    MessengerSettings,
)
from contos_messaging.testing import InMemoryAddressBook, RecordingEmailTransport
from tests.integration.conftest import MASTER_KEY

ADMIN = Actor.system()
CLIENT = LinkedEntity.client("C-1")
ORDER = LinkedEntity.order("O-7")
PDF = b"%PDF-1.7 potvrzeni objednavky " * 400
CSV = "č;položka\n1;pojištění\n".encode()


@pytest.fixture
async def messenger(tmp_path):
    book = InMemoryAddressBook({CLIENT: Contact("Jan Novák", email="jan@example.com")})
    messenger = await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, address_book=book,
        settings=MessengerSettings(
            company_sender="info@contos.example.com", limits=Limits(attachments_bytes=100_000)
        ),
        email_transport=RecordingEmailTransport(),
    )  # fmt: skip
    await messenger.templates.save(
        ADMIN, "potvrzeni-objednavky", subject="Potvrzení objednávky {{ order.id }}",
        html="<p>Dobrý den, v příloze je potvrzení.</p>",
    )  # fmt: skip
    await messenger.templates.save(ADMIN, "kod", channel=Channel.SMS, text="Kód {{ kod }}")
    yield messenger
    await messenger.aclose()


async def _content(messenger: AsyncMessenger, message_id: str, index: int) -> bytes:
    download = await messenger.attachment(message_id, index)
    return b"".join([chunk async for chunk in download.chunks])


async def test_a_template_message_carries_its_pdf_and_remembers_its_template(messenger):
    message = await messenger.compose_from_template(
        ADMIN, "potvrzeni-objednavky", links=[CLIENT, ORDER],
        attachments=[Attachment.from_bytes("potvrzeni-O-7.pdf", PDF)],
    )  # fmt: skip
    stored = await messenger.get(message.id)
    assert (stored.template.name, stored.template.version) == ("potvrzeni-objednavky", 1)
    assert [(a.filename, a.size) for a in stored.attachments] == [("potvrzeni-O-7.pdf", len(PDF))]
    assert await _content(messenger, message.id, 0) == PDF
    parsed = email.message_from_bytes(
        await messenger.export_eml(message.id), policy=email.policy.default
    )
    (part,) = list(parsed.iter_attachments())
    assert part.get_content() == PDF
    assert parsed["Subject"] == "Potvrzení objednávky O-7"


async def test_refused_template_attachments_store_nothing(messenger):
    with pytest.raises(InvalidMessage, match="an SMS has no attachments"):
        await messenger.compose_from_template(
            ADMIN, "kod", links=[CLIENT], to="+420601123456", variables={"kod": "1234"},
            attachments=[Attachment.from_bytes("a.pdf", PDF)],
        )  # fmt: skip
    with pytest.raises(LimitExceeded):
        await messenger.compose_from_template(
            ADMIN, "potvrzeni-objednavky", links=[CLIENT, ORDER],
            attachments=[Attachment.from_bytes("velky.pdf", b"x" * 200_000)],
        )  # fmt: skip
    assert (await messenger.history(CLIENT)).total == 0
    assert await messenger.ports.blobs.list_objects() == []


async def test_edit_adds_and_removes_attachments_of_an_unsent_message(messenger):
    message = await messenger.compose_email(
        ADMIN, subject="Vyúčtování", text="V příloze.", links=[CLIENT],
        attachments=[Attachment.from_bytes("vypis.pdf", PDF)],
    )  # fmt: skip
    kept = message.attachments[0]
    added = await messenger.edit(
        ADMIN, message.id, attachments=[kept, Attachment.from_bytes("seznam.csv", CSV)]
    )
    assert [a.filename for a in added.attachments] == ["vypis.pdf", "seznam.csv"]
    assert await _content(messenger, message.id, 0) == PDF
    assert await _content(messenger, message.id, 1) == CSV
    removed = await messenger.edit(ADMIN, message.id, attachments=[added.attachments[1]])
    assert [a.filename for a in removed.attachments] == ["seznam.csv"]
    assert await _content(messenger, message.id, 0) == CSV
    events = await messenger.audit(message.id)
    assert [e.action for e in events] == [
        AuditAction.CREATED,
        AuditAction.EDITED,
        AuditAction.EDITED,
    ]
    assert events[-1].details["changed"] == "attachments"

    before = await messenger.get(message.id)
    with pytest.raises(LimitExceeded):
        await messenger.edit(
            ADMIN, message.id, attachments=[Attachment.from_bytes("velky.pdf", b"x" * 200_000)]
        )
    stranger = Attachment(filename="cizi.pdf", content_type="application/pdf", size=3,
                          sha256="0" * 64)  # fmt: skip
    with pytest.raises(InvalidAttachment, match="carries no content"):
        await messenger.edit(ADMIN, message.id, attachments=[stranger])
    assert await messenger.get(message.id) == before

    await messenger.send(ADMIN, message.id)
    with pytest.raises(IllegalTransition):
        await messenger.edit(ADMIN, message.id, attachments=[])


async def test_moving_a_message_to_another_client_moves_its_attachments(messenger):
    message = await messenger.compose_email(
        ADMIN, to="jan@example.com", subject="S", text="T", links=[CLIENT],
        attachments=[Attachment.from_bytes("vypis.pdf", PDF)],
    )  # fmt: skip
    other = LinkedEntity.client("C-2")
    moved = await messenger.edit(
        ADMIN, message.id, links=[other],
        attachments=[message.attachments[0], Attachment.from_bytes("seznam.csv", CSV)],
    )  # fmt: skip
    assert moved.key_scope == "C-2"
    assert await _content(messenger, message.id, 0) == PDF
    assert await _content(messenger, message.id, 1) == CSV
    assert await messenger.erase_client(ADMIN, "C-2") == (message.id,)
