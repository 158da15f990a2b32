"""Review, then send (issue 16, item 5), on the embedded store with a real SMTP server: drafts
are reviewed and edited, then queued together by ids or by a list query, optionally for later;
nothing goes out before that; what is not a draft, not there or not the actor's is named with
its reason; each queued message has an audit entry naming who queued it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    AuditAction,
    Contact,
    InvalidInput,
    LinkedEntity,
    MessageQuery,
    MessageStatus,
    Permission,
    SkipReason,
)
from contos_messaging.adapters.clock import ManualClock
from contos_messaging.testing import InMemoryAddressBook
from contos_messaging.testing.smtp import LocalSMTPServer
from tests.integration.conftest import MASTER_KEY

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
JANA = Actor("jana", permissions={Permission.COMPOSE, Permission.SEND, Permission.EDIT})
VIEWER = Actor("petr", permissions={Permission.COMPOSE})
CLIENTS = [LinkedEntity.client(f"C-{n}") for n in range(6)]


@pytest.fixture
def server():
    with LocalSMTPServer() as running:
        yield running


@pytest.fixture
async def messenger(tmp_path, server):
    book = InMemoryAddressBook(
        {c: Contact(f"Klient {c.id}", email=f"{c.id.lower()}@example.com") for c in CLIENTS}
    )
    clock = ManualClock(T0)
    messenger = await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, company_sender="info@contos.example.com",
        email_transport=server.transport(), address_book=book, clock=clock,
    )  # fmt: skip
    await messenger.templates.save(
        Actor.system(), "vyuctovani", subject="Vyúčtování {{ client.id }}",
        text="Dobrý den, posíláme vyúčtování.",
    )  # fmt: skip
    messenger.clock = clock  # type: ignore[attr-defined]
    yield messenger
    await messenger.aclose()


async def test_drafts_go_out_only_after_they_are_queued_by_a_query(messenger, server):
    drafts = [
        await messenger.compose_from_template(JANA, "vyuctovani", links=[client])
        for client in CLIENTS[:4]
    ]
    other = await messenger.compose_email(
        JANA, to="x@example.com", subject="Jiná", text="t", links=[CLIENTS[5]]
    )
    assert {d.status for d in drafts} == {MessageStatus.DRAFT}
    assert len((await messenger.send_due()).outcomes) == 0  # drafts are never due
    assert server.messages == []

    await messenger.edit(JANA, drafts[1].id, subject="Vyúčtování C-1 (opraveno)")  # reviewed
    later = T0 + timedelta(hours=2)
    report = await messenger.queue(JANA, MessageQuery(template="vyuctovani"), scheduled_at=later)
    assert sorted(report.queued) == sorted(d.id for d in drafts)
    assert report.skipped == ()
    assert (await messenger.get(other.id)).status is MessageStatus.DRAFT

    assert len((await messenger.send_due()).outcomes) == 0  # not yet: 10:00
    messenger.clock.advance(timedelta(hours=2))
    sent = await messenger.send_due()
    assert sorted(o.message_id for o in sent) == sorted(d.id for d in drafts)
    assert {o.status for o in sent} == {MessageStatus.SENT}
    subjects = sorted(m.message["Subject"] for m in server.messages)
    assert "Vyúčtování C-1 (opraveno)" in subjects
    assert len(subjects) == 4
    events = await messenger.audit(drafts[0].id)
    queued = [e for e in events if e.action is AuditAction.STATUS_CHANGED]
    assert [(e.actor_id, e.details["from"], e.details["to"]) for e in queued] == [
        ("jana", "draft", "queued")
    ]


async def test_queueing_by_ids_names_what_it_left_alone_and_why(messenger, server):
    one = await messenger.compose_from_template(JANA, "vyuctovani", links=[CLIENTS[0]])
    two = await messenger.compose_from_template(JANA, "vyuctovani", links=[CLIENTS[1]])
    await messenger.send(JANA, two.id)
    missing = "0191f0a0-0000-7000-8000-000000000000"
    report = await messenger.queue(JANA, [one.id, two.id, missing, one.id])
    assert report.queued == (one.id,)
    assert dict(report.skipped) == {
        two.id: SkipReason.ALREADY_SENT,
        missing: SkipReason.NOT_FOUND,
    }
    again = await messenger.queue(JANA, one.id)
    assert again.skipped == ((one.id, SkipReason.ALREADY_QUEUED),)
    three = await messenger.compose_from_template(JANA, "vyuctovani", links=[CLIENTS[2]])
    refused = await messenger.queue(VIEWER, MessageQuery(template="vyuctovani"))
    assert refused.queued == ()
    assert refused.skipped == ((three.id, SkipReason.NO_PERMISSION),)
    with pytest.raises(InvalidInput, match="time zone"):
        await messenger.queue(JANA, three.id, scheduled_at=datetime(2026, 12, 24, 9, 0))
    assert (await messenger.get(three.id)).status is MessageStatus.DRAFT
