"""AsyncMessenger end to end on the fakes: compose, history, send, send log, cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contos_messaging import (
    Actor,
    Attachment,
    Channel,
    Contact,
    IllegalTransition,
    InvalidAddress,
    InvalidAttachment,
    InvalidInput,
    InvalidMessage,
    LinkedEntity,
    MessageNotFound,
    MessageStatus,
    Permission,
    PermissionDenied,
    SkipReason,
    UsageError,
)
from contos_messaging.testing import InMemoryAddressBook, make_async_test_messenger

C1 = LinkedEntity.client("C-1")
O7 = LinkedEntity.order("O-7")


@pytest.fixture
def book() -> InMemoryAddressBook:
    return InMemoryAddressBook(
        {C1: Contact("Jan Novák", email="jan@example.com", phone="601 123 456")}
    )


@pytest.fixture
async def messenger(clock, book):
    async with make_async_test_messenger(clock=clock, address_book=book) as m:
        yield m


async def test_compose_email_stores_a_draft_with_links_and_default_sender(messenger, clerk):
    message = await messenger.compose_email(
        clerk, to="jan@example.com", subject="Dobrý den", text="Text", links=[C1, O7]
    )
    stored = await messenger.get(message.id)
    assert stored == message
    assert stored.status is MessageStatus.DRAFT
    assert stored.links == (C1, O7)
    assert stored.sender.addr_spec == "info@contos.example.com"
    assert stored.created_by == "jana"
    assert await messenger.ports.repository.audit(message.id)


async def test_compose_without_to_takes_the_linked_clients_address_book_entry(messenger, clerk):
    email = await messenger.compose_email(clerk, subject="S", text="T", links=[O7, C1])
    assert [(a.display_name, a.addr_spec) for a in email.recipients.to] == [
        ("Jan Novák", "jan@example.com")
    ]
    sms = await messenger.compose_sms(clerk, text="Zpráva", links=C1)
    assert sms.recipients.envelope == ("+420601123456",)


async def test_compose_without_to_or_client_is_a_clear_error(messenger, clerk):
    with pytest.raises(InvalidMessage, match="no record linked"):
        await messenger.compose_email(clerk, subject="S", text="T")
    with pytest.raises(InvalidMessage, match="order:O-7 is not in the address book"):
        await messenger.compose_email(clerk, subject="S", text="T", links=[O7])
    with pytest.raises(InvalidMessage, match=r"client:C-2 is not in the address book \(not found"):
        await messenger.compose_email(
            clerk, subject="S", text="T", links=[LinkedEntity.client("C-2")]
        )
    messenger.ports.address_book.add(LinkedEntity.client("C-3"), Contact("Eva", phone="601"))
    with pytest.raises(InvalidMessage, match="client:C-3 has no e-mail address"):
        await messenger.compose_email(
            clerk, subject="S", text="T", links=[LinkedEntity.client("C-3")]
        )


async def test_invalid_input_stores_nothing(messenger, clerk):
    attachment = Attachment.from_bytes("a.pdf", b"%PDF")
    with pytest.raises(InvalidAddress):
        await messenger.compose_email(
            clerk,
            to="jan@example.com\r\nBcc: x@example.com",
            subject="S",
            text="T",
            links=[C1],
            attachments=[attachment],
        )
    with pytest.raises(InvalidMessage):
        await messenger.compose_email(
            clerk, to="jan@example.com", subject="S", links=[C1], attachments=[attachment]
        )
    assert (await messenger.history(C1)).total == 0
    assert messenger.ports.blobs.objects == {}


async def test_attachments_go_to_the_blob_store_once_per_client(messenger, clerk, tmp_path):
    path = tmp_path / "Smlouva č. 1.pdf"
    path.write_bytes(b"%PDF-1.7 smlouva")
    first = await messenger.compose_email(
        clerk,
        to="jan@example.com",
        subject="S",
        text="T",
        links=[C1],
        attachments=[Attachment.from_path(path), Attachment.from_bytes("x.txt", b"hello")],
    )
    await messenger.compose_email(
        clerk,
        to="jan@example.com",
        subject="S",
        text="T",
        links=[C1],
        attachments=[Attachment.from_path(path)],
    )
    assert [a.filename for a in first.attachments] == ["Smlouva č. 1.pdf", "x.txt"]
    assert all(not a.has_content for a in first.attachments)
    blobs = messenger.ports.blobs
    assert blobs.writes == 2
    assert await blobs.get("C-1", first.attachments[0].sha256) == b"%PDF-1.7 smlouva"


async def test_a_missing_attachment_file_is_an_invalid_attachment(tmp_path):
    with pytest.raises(InvalidAttachment, match="cannot read"):
        Attachment.from_path(tmp_path / "missing.pdf")


async def test_history_for_every_kind_is_newest_first_and_paginated(messenger, clerk, clock):
    kinds = [
        LinkedEntity.contract("K-1"),
        LinkedEntity.statement("V-1"),
        LinkedEntity.amendment("D-1"),
        O7,
    ]
    ids = []
    for i in range(5):
        clock.advance(60)
        m = await messenger.compose_email(
            clerk, to="jan@example.com", subject=f"S{i}", text="T", links=[C1, *kinds]
        )
        ids.append(m.id)
    for entity in [C1, *kinds]:
        page = await messenger.history(entity, limit=2, offset=1)
        assert page.total == 5
        assert [m.id for m in page.items] == [ids[3], ids[2]]
    sms = await messenger.compose_sms(clerk, to="601 123 456", text="x", links=[C1])
    assert [m.id for m in (await messenger.history(C1, channel=Channel.SMS)).items] == [sms.id]


async def test_history_rejects_a_non_entity(messenger):
    with pytest.raises(InvalidInput):
        await messenger.history("client:C-1")


async def test_send_now_sends_and_logs_one_attempt_each(messenger, clerk, clock):
    email = await messenger.compose_email(
        clerk, to="jan@example.com, eva@example.com", subject="S", text="T", links=[C1]
    )
    sms = await messenger.compose_sms(clerk, text="Ahoj", links=[C1])
    clock.advance(5)
    report = await messenger.send(clerk, [email.id, sms.id])
    assert set(report.sent) == {email.id, sms.id}
    assert (await messenger.get(email.id)).status is MessageStatus.SENT
    (attempt,) = await messenger.send_log(email.id)
    assert attempt.actor_id == "jana"
    assert attempt.transport == "recording-email"
    assert attempt.accepted == ("jan@example.com", "eva@example.com")
    assert attempt.started_at == clock.now()
    (sms_attempt,) = await messenger.send_log(sms.id)
    assert sms_attempt.accepted == ("+420601123456",)
    sent = messenger.ports.email_transport.sent
    assert [e.message.id for e in sent] == [email.id]


async def test_tick_and_send_gives_one_outcome_per_id_and_never_refuses_the_selection(
    messenger, clerk
):
    """A selection holding an already-sent, a cancelled and an unknown id still sends the
    sendable ones; each id has its own outcome, in the order asked for."""
    sent_before = await messenger.compose_email(
        clerk, to="jan@example.com", subject="S", text="T", links=[C1]
    )
    await messenger.send(clerk, sent_before.id)
    cancelled = await messenger.compose_email(clerk, to="jan@example.com", subject="S", text="T")
    await messenger.cancel(clerk, cancelled.id)
    fresh = [
        await messenger.compose_email(clerk, to=f"k{i}@example.com", subject="S", text="T")
        for i in range(2)
    ]
    ids = [fresh[0].id, sent_before.id, "01a22161-fe80-7000-8000-000000000000", cancelled.id,
           fresh[1].id]  # fmt: skip
    report = await messenger.send(clerk, ids)
    assert [o.message_id for o in report] == ids
    assert report.sent == (fresh[0].id, fresh[1].id)
    assert report.skipped == {
        sent_before.id: SkipReason.ALREADY_SENT,
        ids[2]: SkipReason.NOT_FOUND,
        cancelled.id: SkipReason.CANCELLED,
    }
    assert report.outcome(ids[2]).status is None
    assert report.outcome(cancelled.id).status is MessageStatus.CANCELLED
    assert len(messenger.ports.email_transport.sent) == 3  # the first send and the two fresh


async def test_permissions_are_checked(messenger, clerk):
    reader = Actor("host-reader")
    with pytest.raises(PermissionDenied) as info:
        await messenger.compose_email(reader, to="jan@example.com", subject="S", text="T")
    assert info.value.permission == "compose"
    message = await messenger.compose_email(clerk, to="jan@example.com", subject="S", text="T")
    composer = Actor("petr", permissions={Permission.COMPOSE, Permission.CANCEL})
    report = await messenger.send(composer, [message.id])
    assert report.skipped == {message.id: SkipReason.NO_PERMISSION}
    assert "send" in report.outcome(message.id).detail
    with pytest.raises(PermissionDenied, match="edit_others"):
        await messenger.cancel(composer, message.id)
    assert (await messenger.get(message.id)).status is MessageStatus.DRAFT


async def test_cancel_withdraws_an_unsent_message_only(messenger, clerk):
    message = await messenger.compose_email(
        clerk,
        to="jan@example.com",
        subject="S",
        text="T",
        scheduled_at=messenger.ports.clock.now() + timedelta(days=1),
    )
    assert message.status is MessageStatus.QUEUED
    cancelled = await messenger.cancel(clerk, message.id)
    assert cancelled.status is MessageStatus.CANCELLED
    assert (await messenger.send(clerk, message.id)).skipped == {message.id: SkipReason.CANCELLED}
    with pytest.raises(IllegalTransition):
        await messenger.cancel(clerk, message.id)


async def test_send_log_of_unknown_message_raises(messenger):
    with pytest.raises(MessageNotFound):
        await messenger.send_log("nope")


async def test_an_index_failure_never_blocks_composing_or_sending(messenger, clerk):
    messenger.ports.search.fail_with = OSError("disk full")
    message = await messenger.compose_email(clerk, to="jan@example.com", subject="S", text="T")
    report = await messenger.send(clerk, message.id)
    assert report.sent == (message.id,)


async def test_the_index_follows_compose_and_status(messenger, clerk):
    message = await messenger.compose_email(
        clerk, to="jan@example.com", subject="Vyúčtování", html="<p>Příloha</p>", links=[C1]
    )
    assert [h.message.id for h in (await messenger.search("priloha")).hits] == [message.id]
    await messenger.send(clerk, message.id)
    page = await messenger.search("vyuctovani", status=MessageStatus.SENT)
    assert [h.message.id for h in page.hits] == [message.id]
    assert await messenger.ports.search.count() == 1


async def test_a_closed_messenger_refuses_calls(clock):
    messenger = make_async_test_messenger(clock=clock)
    await messenger.aclose()
    await messenger.aclose()
    with pytest.raises(UsageError):
        await messenger.get("x")
    assert messenger.ports.email_transport.closed


async def test_edit_makes_a_new_version_checks_permissions_and_is_audited(messenger, clerk):
    from contos_messaging import AuditAction

    message = await messenger.compose_email(
        clerk, to="jan@example.com", subject="Původní", text="T", links=[C1]
    )
    edited = await messenger.edit(
        clerk, message.id, subject="Nový", to="eva@example.com", links=[C1, O7]
    )
    assert edited.version == 2
    assert edited.subject == "Nový"
    assert edited.recipients.envelope == ("eva@example.com",)
    assert edited.message_id_header == message.message_id_header
    assert (await messenger.get(message.id)) == edited
    assert [m.id for m in (await messenger.history(O7)).items] == [message.id]
    events = await messenger.ports.repository.audit(message.id)
    assert [e.action for e in events] == [AuditAction.CREATED, AuditAction.EDITED]
    assert events[-1].details["changed"] == "recipients,subject,links"
    other = Actor("petr", permissions={Permission.EDIT})
    with pytest.raises(PermissionDenied, match="edit_others"):
        await messenger.edit(other, message.id, subject="x")
    await messenger.send(clerk, message.id)
    with pytest.raises(IllegalTransition):
        await messenger.edit(clerk, message.id, subject="po odeslání")


async def test_edit_validates_like_compose(messenger, clerk):
    message = await messenger.compose_email(clerk, to="jan@example.com", subject="S", text="T")
    with pytest.raises(InvalidAddress):
        await messenger.edit(clerk, message.id, to="x\r\ny@example.com")
    with pytest.raises(InvalidMessage):
        await messenger.edit(clerk, message.id, subject="a\nb")
    assert (await messenger.get(message.id)).version == 1


async def test_an_edit_that_changes_the_client_moves_the_attachments_along(messenger, clerk):
    attachment = Attachment.from_bytes("smlouva.pdf", b"%PDF smlouva")
    message = await messenger.compose_email(
        clerk, to="jan@example.com", subject="S", text="T", links=[C1], attachments=[attachment]
    )
    edited = await messenger.edit(clerk, message.id, links=[LinkedEntity.client("C-2")])
    assert edited.key_scope == "C-2"
    assert await messenger.ports.blobs.get("C-2", edited.attachments[0].sha256) == b"%PDF smlouva"
    report = await messenger.send(clerk, message.id)
    assert report.sent == (message.id,)
    assert messenger.ports.email_transport.sent[0].attachments[0][1] == b"%PDF smlouva"
