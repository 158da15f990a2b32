"""Contract of the :class:`~contos_messaging.ports.MessageRepository` port (its leases and
idempotency keys are in :mod:`contos_messaging.testing.contracts.leases`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contos_messaging.domain.addresses import EmailRecipients, parse_address
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.integrity import LeaseTerms, Update
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, MessageStatus, TemplateRef
from contos_messaging.domain.page import Page
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.send_log import (
    AttemptKind,
    AuditAction,
    AuditEvent,
    RecipientOutcome,
    SendAttempt,
)
from contos_messaging.errors import (
    AlreadyExists,
    ConcurrentModification,
    InvalidInput,
    MessageNotFound,
)
from contos_messaging.ports import MessageRepository
from contos_messaging.testing.contracts._messages import email, sms
from contos_messaging.testing.contracts.deliveries import RepositoryDeliveryContract
from contos_messaging.testing.contracts.leases import RepositoryLeaseContract
from contos_messaging.testing.contracts.listing import RepositoryListContract

__all__ = ["RepositoryContract"]

S = MessageStatus
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
C1 = LinkedEntity.client("C-1")
C2 = LinkedEntity.client("C-2")


def _event(message_id: str, at: datetime) -> AuditEvent:
    return AuditEvent(
        id=f"e-{message_id}", at=at, actor_id="jana", action=AuditAction.CREATED,
        subject=message_id, details={"k": "v"},
    )  # fmt: skip


def _attempt(message_id: str, **fields: Any) -> SendAttempt:
    return SendAttempt(
        id="a1", message_id=message_id, message_version=1, attempt_no=1, kind=AttemptKind.SEND,
        actor_id="jana", transport="t", started_at=T0, finished_at=T0, outcome=S.SENT, **fields,
    )  # fmt: skip


def _ids(page: Page[Message]) -> set[str]:
    return {m.id for m in page.items}


class RepositoryContract(
    RepositoryLeaseContract, RepositoryListContract, RepositoryDeliveryContract
):
    """The behaviour every :class:`~contos_messaging.ports.MessageRepository` keeps, leases
    and idempotency keys included. Subclass it as ``Test...`` and define
    :meth:`make_repository`.

    .. versionadded:: 0.3
    """

    async def test_add_then_get_returns_an_equal_message(
        self, repository: MessageRepository
    ) -> None:
        message = email(T0, links=(C1, LinkedEntity.order("O-7")))
        await repository.add([message])
        assert await repository.get(message.id) == message

    async def test_get_of_unknown_id_raises_message_not_found(
        self, repository: MessageRepository
    ) -> None:
        with pytest.raises(MessageNotFound) as info:
            await repository.get("nope")
        assert info.value.message_id == "nope"

    @pytest.mark.parametrize("odd", ["nope", "", "\x00", "x" * 10_000, "0" * 36])
    async def test_lookups_of_ids_that_name_nothing_find_nothing(
        self, repository: MessageRepository, odd: str
    ) -> None:
        with pytest.raises(MessageNotFound):
            await repository.get(odd)
        assert await repository.attempts(odd) == []
        assert await repository.audit(odd) == []

    async def test_lookups_with_a_lone_surrogate_are_refused_with_invalid_input(
        self, repository: MessageRepository
    ) -> None:
        for lookup in (repository.attempts, repository.audit):
            with pytest.raises(InvalidInput):
                await lookup("\ud800")

    async def test_add_is_all_or_nothing_when_an_id_is_taken(
        self, repository: MessageRepository
    ) -> None:
        first = email(T0)
        await repository.add([first])
        fresh = email(T0 + timedelta(seconds=1))
        with pytest.raises(AlreadyExists):
            await repository.add([fresh, first])
        with pytest.raises(MessageNotFound):
            await repository.get(fresh.id)

    async def test_get_many_keeps_the_requested_order(self, repository: MessageRepository) -> None:
        a, b = email(T0), sms(T0 + timedelta(seconds=1))
        await repository.add([a, b])
        assert [m.id for m in await repository.get_many([b.id, a.id])] == [b.id, a.id]
        with pytest.raises(MessageNotFound):
            await repository.get_many([a.id, "missing"])

    async def test_list_messages_is_newest_first_and_paginated(
        self, repository: MessageRepository
    ) -> None:
        messages = [email(T0 + timedelta(minutes=i)) for i in range(7)]
        await repository.add(messages)
        page = await repository.list_messages(MessageQuery(linked=C1, limit=3))
        assert (page.total, page.limit, page.offset) == (7, 3, 0)
        assert [m.id for m in page.items] == [m.id for m in reversed(messages)][:3]
        last = await repository.list_messages(MessageQuery(linked=C1, limit=3, offset=6))
        assert [m.id for m in last.items] == [messages[0].id]
        assert not last.has_more
        assert page.has_more

    async def test_list_messages_pages_by_the_list_default_without_a_limit(
        self, repository: MessageRepository
    ) -> None:
        await repository.add(
            [email(T0 + timedelta(seconds=i)) for i in range(MessageQuery.LIST_PAGE + 1)]
        )
        page = await repository.list_messages(MessageQuery())
        assert (len(page.items), page.limit, page.total) == (50, 50, 51)

    async def test_list_messages_past_the_end_is_an_empty_page_with_the_total(
        self, repository: MessageRepository
    ) -> None:
        await repository.add([email(T0)])
        page = await repository.list_messages(MessageQuery(offset=10**10))
        assert (page.items, page.total) == ((), 1)

    @pytest.mark.parametrize("kind", ["client", "order", "contract", "statement", "amendment"])
    async def test_list_messages_finds_messages_linked_to_every_kind(
        self, repository: MessageRepository, kind: str
    ) -> None:
        entity = LinkedEntity(kind, "X-1")
        linked = email(T0, links=(entity,))
        other = email(T0, links=(LinkedEntity(kind, "X-2"),))
        await repository.add([linked, other])
        page = await repository.list_messages(MessageQuery(linked=entity))
        assert [m.id for m in page.items] == [linked.id]
        nobody = MessageQuery(linked=LinkedEntity(kind, "X-9"))
        assert _ids(await repository.list_messages(nobody)) == set()

    async def test_list_messages_without_a_link_lists_every_message(
        self, repository: MessageRepository
    ) -> None:
        a = email(T0, links=(C1,))
        b = email(T0 + timedelta(seconds=1), links=(C2,))
        c = sms(T0 + timedelta(seconds=2), links=())
        await repository.add([a, b, c])
        page = await repository.list_messages(MessageQuery())
        assert [m.id for m in page.items] == [c.id, b.id, a.id]

    async def test_list_messages_filters_channel_status_dates_creator_and_template(
        self, repository: MessageRepository
    ) -> None:
        e1 = email(T0, created_by="jana", template=TemplateRef("vyuctovani", 2))
        e2 = email(T0 + timedelta(days=1), created_by="petr", template=TemplateRef("upominka", 1))
        s1 = sms(T0 + timedelta(days=2))
        await repository.add([e1, e2, s1])

        async def ids(**filters: Any) -> set[str]:
            return _ids(await repository.list_messages(MessageQuery(linked=C1, **filters)))

        assert await ids(channel=Channel.SMS) == {s1.id}
        assert await ids(channel="email") == {e1.id, e2.id}
        assert await ids(created_by="petr") == {e2.id}
        assert await ids(since=T0 + timedelta(days=1)) == {e2.id, s1.id}
        assert await ids(until=T0 + timedelta(days=1)) == {e1.id}
        assert await ids(since=T0, until=T0 + timedelta(days=2)) == {e1.id, e2.id}
        assert await ids(status=S.DRAFT) == {e1.id, e2.id, s1.id}
        assert await ids(status=S.SENT) == set()
        assert await ids(template="vyuctovani") == {e1.id}
        assert await ids(template="vyuctovani", created_by="petr") == set()
        assert _ids(await repository.list_messages(MessageQuery(linked=C2))) == set()

    async def test_update_is_compare_and_set(self, repository: MessageRepository) -> None:
        message = email(T0)
        await repository.add([message])
        sending = message.transition(S.SENDING, at=T0)
        await repository.update(Update(sending, message))
        assert (await repository.get(message.id)).status is S.SENDING
        stale = message.transition(S.CANCELLED, at=T0)
        with pytest.raises(ConcurrentModification):
            await repository.update(Update(stale, message))
        assert (await repository.get(message.id)).status is S.SENDING

    async def test_update_appends_the_attempt_with_the_status_change(
        self, repository: MessageRepository
    ) -> None:
        message = email(T0)
        await repository.add([message], events=[_event(message.id, T0)])
        sending = message.transition(S.SENDING, at=T0)
        await repository.update(Update(sending, message))
        sent = sending.transition(S.SENT, at=T0)
        outcome = RecipientOutcome("jan@example.com", True, 250, "OK")
        attempt = _attempt(message.id, recipients=(outcome,))
        await repository.update(Update(sent, sending, attempt=attempt))
        assert await repository.attempts(message.id) == [attempt]
        assert [e.action for e in await repository.audit(message.id)] == [AuditAction.CREATED]
        assert (await repository.audit(message.id))[0].details == {"k": "v"}

    async def test_failed_compare_and_set_appends_nothing(
        self, repository: MessageRepository
    ) -> None:
        message = email(T0)
        await repository.add([message])
        sending = message.transition(S.SENDING, at=T0)
        await repository.update(Update(sending, message))
        with pytest.raises(ConcurrentModification):
            await repository.update(
                Update(sending.transition(S.SENT, at=T0), message, attempt=_attempt(message.id))
            )
        assert await repository.attempts(message.id) == []

    async def test_due_lists_queued_and_deferred_whose_time_has_come(
        self, repository: MessageRepository
    ) -> None:
        now = T0 + timedelta(hours=1)
        due_now = email(T0, scheduled_at=T0)
        later = email(T0, scheduled_at=now + timedelta(minutes=5))
        draft = email(T0)
        deferred = email(T0, scheduled_at=T0)
        await repository.add([due_now, later, draft, deferred])
        sending = deferred.transition(S.SENDING, at=T0)
        await repository.update(Update(sending, deferred))
        retry_at = now - timedelta(minutes=1)
        await repository.update(
            Update(sending.transition(S.DEFERRED, at=T0, next_attempt_at=retry_at), sending)
        )
        assert set(await repository.due(now)) == {due_now.id, deferred.id}
        assert len(await repository.due(now, limit=1)) == 1

    async def test_claim_due_leases_each_message_to_one_claimer(
        self, repository: MessageRepository
    ) -> None:
        now = T0 + timedelta(hours=1)
        due = [email(T0, scheduled_at=T0) for _ in range(3)]
        await repository.add(due)
        until = now + timedelta(minutes=5)
        first = await repository.claim_due(LeaseTerms("w1", now, until))
        second = await repository.claim_due(LeaseTerms("w2", now, until))
        assert {c.message.id for c in first} == {m.id for m in due}
        assert second == []
        assert all(c.message.status is S.SENDING for c in first)
        assert all(c.message.attempts == 1 for c in first)
        assert len({c.token for c in first}) == 3

    async def test_an_expired_lease_is_reclaimed_and_the_old_token_is_fenced(
        self, repository: MessageRepository
    ) -> None:
        now = T0 + timedelta(hours=1)
        message = email(T0, scheduled_at=T0)
        await repository.add([message])
        (old,) = await repository.claim_due(LeaseTerms("w1", now, now + timedelta(minutes=5)))
        later = now + timedelta(minutes=6)
        (new,) = await repository.claim_due(LeaseTerms("w2", later, later + timedelta(minutes=5)))
        assert new.token != old.token
        assert new.message.attempts == 2
        sent = old.message.transition(S.SENT, at=later)
        with pytest.raises(ConcurrentModification):
            await repository.update(Update(sent, old.message, lease_token=old.token))
        done = new.message.transition(S.SENT, at=later)
        await repository.update(Update(done, new.message, lease_token=new.token))
        assert (await repository.get(message.id)).status is S.SENT
        an_hour_on = later + timedelta(hours=1)
        until = an_hour_on + timedelta(hours=1)
        assert await repository.claim_due(LeaseTerms("w3", an_hour_on, until)) == []

    async def test_find_by_address_is_exact_and_case_insensitive(
        self, repository: MessageRepository
    ) -> None:
        a = email(T0, to="Jan <Jan.Novak@Example.com>")
        b = email(T0 + timedelta(minutes=1), to="eva@example.com, jan.novak@example.com")
        c = email(T0 + timedelta(minutes=2), to="jan.novakova@example.com")
        await repository.add([a, b, c])
        assert await repository.find_by_address("jan.novak@example.com") == [b.id, a.id]
        assert await repository.find_by_address("JAN.NOVAK@EXAMPLE.COM") == [b.id, a.id]
        assert await repository.find_by_address("nobody@example.com") == []
        assert await repository.find_by_address("+420601123456") == []
        s = sms(T0)
        await repository.add([s])
        assert await repository.find_by_address("+420601123456") == [s.id]

    async def test_erase_scope_removes_the_clients_messages_and_leaves_a_tombstone(
        self, repository: MessageRepository
    ) -> None:
        mine = email(T0, links=(C1, LinkedEntity.order("O-1")))
        other = email(T0, links=(C2,))
        await repository.add([mine, other])
        tombstone = AuditEvent(
            id="t1", at=T0, actor_id="admin", action=AuditAction.ERASED,
            subject="client:C-1", details={"messages": "1"},
        )  # fmt: skip
        assert await repository.erase_scope("C-1", tombstone=tombstone) == [mine.id]
        with pytest.raises(MessageNotFound):
            await repository.get(mine.id)
        order = MessageQuery(linked=LinkedEntity.order("O-1"))
        assert (await repository.list_messages(order)).total == 0
        assert await repository.find_by_address("jan@example.com") == [other.id]
        assert await repository.get(other.id) == other
        assert [e.action for e in await repository.audit("client:C-1")] == [AuditAction.ERASED]

    async def test_referenced_blobs_lists_attachment_keys_by_scope(
        self, repository: MessageRepository
    ) -> None:
        attachment = Attachment.from_bytes("a.pdf", b"%PDF").metadata_only()
        message = Message.email(
            sender=parse_address("info@contos.example.com"),
            recipients=EmailRecipients.parse("jan@example.com"),
            subject="S", text="T", attachments=[attachment], links=[C1],
            created_by="jana", created_at=T0,
        )  # fmt: skip
        await repository.add([message])
        assert await repository.referenced_blobs() == {("C-1", attachment.sha256)}
        assert (await repository.get(message.id)).attachments == (attachment,)

    async def test_verify_of_a_healthy_store_finds_no_problem(
        self, repository: MessageRepository
    ) -> None:
        await repository.add([email(T0), sms(T0)])
        report = await repository.verify()
        assert report.ok
        assert report.checked >= 2

    async def test_scan_walks_every_message_in_creation_order(
        self, repository: MessageRepository
    ) -> None:
        messages = [email(T0 + timedelta(minutes=i)) for i in range(7)]
        await repository.add(messages)
        seen: list[str] = []
        after: str | None = None
        while page := await repository.scan(after=after, limit=3):
            seen += [m.id for m in page]
            after = page[-1].id
        assert seen == [m.id for m in messages]

    async def test_unindexed_changes_are_kept_in_order_until_forgotten(
        self, repository: MessageRepository
    ) -> None:
        """What a messenger that does not write the index records for the one that does.

        .. versionadded:: 0.5
        """
        one, two = sms(T0), sms(T0 + timedelta(minutes=1))
        assert await repository.unindexed() == []
        await repository.note_unindexed([one.id, two.id])
        await repository.note_unindexed([one.id])
        noted = await repository.unindexed()
        assert [message_id for _mark, message_id in noted] == [one.id, two.id, one.id]
        marks = [mark for mark, _id in noted]
        assert marks == sorted(set(marks))
        assert await repository.unindexed(limit=2) == noted[:2]
        await repository.forget_unindexed(marks[1])
        assert await repository.unindexed() == noted[2:]
        await repository.note_unindexed([])
        await repository.forget_unindexed(marks[2])
        assert await repository.unindexed() == []

    async def test_message_ids_pages_through_every_id_in_order(
        self, repository: MessageRepository
    ) -> None:
        messages = [sms(T0 + timedelta(minutes=i)) for i in range(5)]
        await repository.add(messages)
        assert await repository.message_ids(limit=3) == [m.id for m in messages[:3]]
        assert await repository.message_ids(after=messages[2].id) == [m.id for m in messages[3:]]
