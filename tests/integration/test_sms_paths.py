"""SMS take the same paths as e-mail (issue 17, item 6), on the embedded store: a template with
variables from linked records, bulk generation, scheduling, the outbox with its leases and
retries, the send log, resend, history, search and the list; what an SMS cannot have (a
subject, HTML, attachments) is refused with a clear error and nothing is stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Attachment,
    AttemptKind,
    BulkTarget,
    Channel,
    Contact,
    InvalidInput,
    InvalidMessage,
    LinkedEntity,
    MessageStatus,
    TransportTemporaryError,
)
from contos_messaging.testing import (
    InMemoryAddressBook,
    InMemoryContextProvider,
    RecordingSmsTransport,
)
from tests.integration.conftest import MASTER_KEY

ADMIN = Actor.system()
S = MessageStatus


async def test_sms_go_through_templates_bulk_outbox_retries_resend_and_lookups(tmp_path, clock):
    book, records = InMemoryAddressBook(), InMemoryContextProvider()
    targets = []
    for n in range(1, 4):
        client, amendment = LinkedEntity.client(f"C-{n}"), LinkedEntity.amendment(f"D-{n}")
        book.add(client, Contact(f"Klient {n}", phone=f"+42060130000{n}"))
        records.add(amendment, {"number": f"D-{n}"})
        targets.append(BulkTarget(links=[client, amendment]))
    transport = RecordingSmsTransport()
    async with await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, clock=clock, sms_transport=transport,
        company_sender="info@contos.example.com", address_book=book, context=records,
    ) as messenger:  # fmt: skip
        await messenger.templates.save(
            ADMIN, "dodatek", channel=Channel.SMS, text="Dodatek {{ amendment.number }} k podpisu."
        )
        later = clock.now() + timedelta(hours=1)
        bulk = await messenger.generate_bulk(ADMIN, "dodatek", targets, scheduled_at=later)
        assert len(bulk.created) == 3
        assert (await messenger.send_due()).outcomes == ()  # not due yet
        clock.advance(timedelta(hours=1))
        transport.fail_next(TransportTemporaryError("gateway busy", transport=transport.name))
        first = await messenger.send_due()
        assert sorted(o.status for o in first.outcomes) == [S.DEFERRED, S.SENT, S.SENT]
        (deferred,) = [o.message_id for o in first.outcomes if o.status is S.DEFERRED]
        clock.advance(timedelta(hours=3))
        (retried,) = (await messenger.send_due()).outcomes
        assert (retried.message_id, retried.status) == (deferred, S.SENT)
        log = await messenger.send_log(deferred)
        assert [(a.kind, a.outcome) for a in log] == [
            (AttemptKind.SEND, S.DEFERRED), (AttemptKind.RETRY, S.SENT),
        ]  # fmt: skip
        await messenger.resend(ADMIN, deferred)
        assert [a.kind for a in await messenger.send_log(deferred)][-1] is AttemptKind.RESEND
        texts = sorted(sms.text for sms, _numbers in transport.sent)
        assert len(texts) == 4
        assert texts[0] == "Dodatek D-1 k podpisu."
        history = await messenger.history(LinkedEntity.amendment("D-2"))
        assert [m.text for m in history] == ["Dodatek D-2 k podpisu."]
        assert (await messenger.search("dodatek podpisu", channel="sms")).total == 3
        listed = await messenger.messages(channel="sms", status="sent", order="-sent")
        assert listed.total == 3


async def test_what_an_sms_cannot_have_is_refused_and_nothing_is_stored(tmp_path, clock):
    async with await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, clock=clock,
        company_sender="info@contos.example.com", sms_transport=RecordingSmsTransport(),
    ) as messenger:  # fmt: skip
        sms = await messenger.compose_sms(
            ADMIN, to="+420601123456", text="Kód 1234", links=[LinkedEntity.client("C-1")]
        )
        for change, words in [
            ({"subject": "Předmět"}, "an SMS has only text"),
            ({"html": "<p>tučně</p>"}, "an SMS has only text"),
            ({"attachments": [Attachment.from_bytes("a.pdf", b"%PDF")]}, "an SMS has no attach"),
        ]:
            with pytest.raises((InvalidMessage, InvalidInput), match=words):
                await messenger.edit(ADMIN, sms.id, **change)
        with pytest.raises(InvalidInput, match="cannot have a subject or HTML"):
            await messenger.templates.save(ADMIN, "x", channel="sms", text="t", subject="s")
        with pytest.raises(InvalidInput, match="channel must be one of 'email', 'sms', got 'fax'"):
            await messenger.templates.save(ADMIN, "x", channel="fax", text="t")
        saved = await messenger.templates.save(ADMIN, "x", channel="sms", text="t")
        assert saved.channel is Channel.SMS
        stored = await messenger.get(sms.id)
        assert (stored.version, stored.subject, stored.html, stored.attachments) == (
            1,
            "",
            None,
            (),
        )
        assert (await messenger.messages()).total == 1
        assert [t.name for t in await messenger.templates.list()] == ["x"]


async def test_an_outbox_without_an_email_transport_sends_the_sms_and_leaves_email_alone(
    tmp_path, clock
):
    """A worker that has only the SMS gateway claims only SMS: e-mails wait, untouched, for
    one that has SMTP, however many are due before them."""
    transport = RecordingSmsTransport()
    async with await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, clock=clock, sms_transport=transport,
        company_sender="info@contos.example.com",
    ) as messenger:  # fmt: skip
        mails = []
        for n in range(5):
            mail = await messenger.compose_email(
                ADMIN, to="jan@example.com", subject=f"E {n}", text="x",
                scheduled_at=clock.now(), links=[LinkedEntity.client("C-1")],
            )  # fmt: skip
            mails.append(mail)
        text = await messenger.compose_sms(
            ADMIN, to="+420601123456", text="Kód 1234", scheduled_at=clock.now(),
            links=[LinkedEntity.client("C-1")],
        )  # fmt: skip
        report = await messenger.send_due(batch=2)
        assert report.sent == (text.id,)
        for mail in mails:
            stored = await messenger.get(mail.id)
            assert (stored.status, stored.attempts) == (S.QUEUED, 0)
            assert await messenger.send_log(mail.id) == []
