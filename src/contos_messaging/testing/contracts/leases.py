"""Contract of the :class:`~contos_messaging.ports.MessageRepository` port's leases and
idempotency keys: claims of chosen messages, renewals, the lease check before delivery, no
state without a way out, and idempotent adds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from contos_messaging.domain.integrity import LeaseTerms, Update
from contos_messaging.domain.message import Channel, MessageStatus
from contos_messaging.domain.send_log import AttemptKind, AuditAction, AuditEvent, SendAttempt
from contos_messaging.errors import InvalidInput
from contos_messaging.ports import MessageRepository
from contos_messaging.testing.contracts._base import Contract, not_defined, under_test
from contos_messaging.testing.contracts._messages import email, sms

__all__ = ["RepositoryLeaseContract"]

S = MessageStatus
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _created(message_id: str) -> AuditEvent:
    return AuditEvent(
        id=f"e-{message_id}", at=T0, actor_id="jana", action=AuditAction.CREATED,
        subject=message_id,
    )  # fmt: skip


class RepositoryLeaseContract(Contract):
    """The leases and idempotency keys of every
    :class:`~contos_messaging.ports.MessageRepository`. Subclass it as ``Test...`` and define
    :meth:`make_repository`.

    .. versionadded:: 0.3
    """

    async def make_repository(self, directory: Path) -> MessageRepository:
        """A new, empty message repository."""
        raise not_defined(self, "make_repository")

    @pytest_asyncio.fixture
    async def repository(self, tmp_path: Path) -> AsyncIterator[MessageRepository]:
        """The repository under test, closed after the test."""
        async with under_test(self, self.make_repository, tmp_path) as repository:
            yield repository

    async def test_claim_leases_chosen_messages_and_records_who_queued_them(
        self, repository: MessageRepository
    ) -> None:
        draft, queued = email(T0), email(T0, scheduled_at=T0 + timedelta(days=1))
        await repository.add([draft, queued])
        claims = await repository.claim(
            [draft, queued], LeaseTerms("w1", T0, T0 + LEASE), queued_by="petr"
        )
        assert [c.message.status if c else None for c in claims] == [S.SENDING, S.SENDING]
        assert [c.message.queued_by if c else None for c in claims] == ["petr", "petr"]
        assert [c.previous if c else None for c in claims] == [draft, queued]
        first = claims[0]
        assert first is not None
        assert first.until == T0 + LEASE
        stored = await repository.get(draft.id)
        assert (stored.status, stored.queued_by, stored.queued_at) == (S.SENDING, "petr", T0)
        assert await repository.lease(draft.id, first.token) == T0 + LEASE

    async def test_claim_refuses_a_changed_message_and_a_live_lease_but_takes_an_ended_one(
        self, repository: MessageRepository
    ) -> None:
        message, other = email(T0), email(T0)
        await repository.add([message, other])
        (first,) = await repository.claim([message], LeaseTerms("w1", T0, T0 + LEASE))
        assert first is not None
        # As the caller read it before the claim: changed meanwhile.
        assert await repository.claim([message], LeaseTerms("w2", T0, T0 + LEASE)) == [None]
        # Leased, and the lease has not ended.
        live = first.message
        early = LeaseTerms("w2", T0 + LEASE / 2, T0 + LEASE * 2)
        assert await repository.claim([live], early) == [None]
        (taken,) = await repository.claim([live], LeaseTerms("w2", T0 + LEASE, T0 + LEASE * 2))
        assert taken is not None
        assert taken.token != first.token
        assert taken.message.attempts == 2
        assert await repository.lease(message.id, first.token) is None  # fenced
        assert (await repository.get(other.id)).status is S.DRAFT

    async def test_renew_extends_held_leases_and_reports_lost_ones(
        self, repository: MessageRepository
    ) -> None:
        a, b = email(T0, scheduled_at=T0), email(T0, scheduled_at=T0)
        await repository.add([a, b])
        claims = await repository.claim_due(LeaseTerms("w1", T0, T0 + LEASE))
        by_id = {c.message.id: c for c in claims}
        later = T0 + timedelta(minutes=4)
        assert await repository.renew(claims, lease_until=later + LEASE) == []
        assert await repository.lease(a.id, by_id[a.id].token) == later + LEASE
        # b's outcome is recorded: its lease ends; a is taken over by nobody (renewed in time).
        claim_b = by_id[b.id]
        done = claim_b.message.transition(S.SENT, at=later)
        await repository.update(Update(done, claim_b.message, lease_token=claim_b.token))
        assert await repository.renew(claims, lease_until=later + LEASE * 2) == [b.id]
        assert await repository.claim_due(LeaseTerms("w2", T0 + LEASE, T0 + LEASE * 3)) == []

    async def test_a_renewed_lease_is_not_due_but_an_ended_one_is_taken_back(
        self, repository: MessageRepository
    ) -> None:
        message = email(T0, scheduled_at=T0)
        await repository.add([message])
        (claim,) = await repository.claim_due(LeaseTerms("w1", T0, T0 + LEASE))
        await repository.renew([claim], lease_until=T0 + LEASE * 2)
        assert await repository.claim_due(LeaseTerms("w2", T0 + LEASE, T0 + LEASE * 3)) == []
        (again,) = await repository.claim_due(LeaseTerms("w2", T0 + LEASE * 2, T0 + LEASE * 3))
        assert again.message.id == message.id
        assert await repository.renew([claim], lease_until=T0 + LEASE * 9) == [message.id]

    async def test_claim_due_takes_only_the_channels_asked_for(
        self, repository: MessageRepository
    ) -> None:
        mails = [email(T0, scheduled_at=T0) for _ in range(3)]
        text = sms(T0 + timedelta(seconds=1))
        text = text.transition(S.QUEUED, at=T0)
        await repository.add([*mails, text])
        sms_only = LeaseTerms("w1", T0 + LEASE, T0 + LEASE * 2, channels=frozenset({Channel.SMS}))
        (claim,) = await repository.claim_due(sms_only, limit=1)  # (past three due e-mails)
        assert claim.message.id == text.id
        nothing = LeaseTerms("w1", T0 + LEASE, T0 + LEASE * 2, channels=frozenset())
        assert await repository.claim_due(nothing) == []
        everything = await repository.claim_due(LeaseTerms("w2", T0 + LEASE, T0 + LEASE * 2))
        assert sorted(c.message.id for c in everything) == sorted(m.id for m in mails)

    async def test_sending_without_a_lease_is_not_a_dead_end(
        self, repository: MessageRepository
    ) -> None:
        """A message written SENDING without a claim (an older version's way) is taken back."""
        message = email(T0)
        await repository.add([message])
        stuck = message.transition(S.SENDING, at=T0)
        await repository.update(Update(stuck, message))
        (claim,) = await repository.claim_due(LeaseTerms("w1", T0, T0 + LEASE))
        assert claim.message.id == message.id
        (other,) = await repository.claim([stuck], LeaseTerms("w2", T0, T0 + LEASE))
        assert other is None  # w1 holds it now

    async def test_an_outcome_under_a_token_records_queued_by_and_the_worker(
        self, repository: MessageRepository
    ) -> None:
        message = email(T0, scheduled_at=T0)
        await repository.add([message])
        (claim,) = await repository.claim_due(LeaseTerms("host:1:a", T0, T0 + LEASE))
        attempt = SendAttempt(
            id="a-1", message_id=message.id, message_version=1, attempt_no=1,
            kind=AttemptKind.SEND, actor_id="system", transport="smtp:x", started_at=T0,
            finished_at=T0, outcome=S.SENT, queued_by="jana", queued_at=T0, worker="host:1:a",
        )  # fmt: skip
        sent = claim.message.transition(S.SENT, at=T0)
        update = Update(sent, claim.message, attempt, (), claim.token)
        assert await repository.update_many([update]) == []
        (stored,) = await repository.attempts(message.id)
        assert (stored.queued_by, stored.queued_at, stored.worker) == ("jana", T0, "host:1:a")
        assert (await repository.get(message.id)).queued_by == "jana"  # composed scheduled

    async def test_an_idempotency_key_stores_one_message_and_its_events_once(
        self, repository: MessageRepository
    ) -> None:
        first, retry, other = email(T0), email(T0), email(T0)
        assert await repository.add([first], events=[_created(first.id)],
                                    idempotency_keys=["order-7"]) == {}  # fmt: skip
        taken = await repository.add(
            [retry, other], events=[_created(retry.id), _created(other.id)],
            idempotency_keys=["order-7", None],
        )  # fmt: skip
        assert taken == {retry.id: first.id}
        assert await repository.get(other.id) == other
        assert await repository.audit(retry.id) == []
        assert len(await repository.audit(other.id)) == 1
        assert sorted(await repository.message_ids()) == sorted([first.id, other.id])

    async def test_a_key_repeated_within_one_batch_stores_the_first_message_only(
        self, repository: MessageRepository
    ) -> None:
        a, b = email(T0), email(T0)
        assert await repository.add([a, b], idempotency_keys=["k", "k"]) == {b.id: a.id}
        assert await repository.message_ids() == [a.id]

    @pytest.mark.parametrize(
        "idempotency_keys", [["", None], ["x" * 201, None], ["\ud800", None], ["only-one"]]
    )
    async def test_bad_idempotency_keys_are_refused_and_nothing_is_stored(
        self, repository: MessageRepository, idempotency_keys: Sequence[str | None]
    ) -> None:
        with pytest.raises(InvalidInput):
            await repository.add([email(T0), email(T0)], idempotency_keys=idempotency_keys)
        assert await repository.message_ids() == []
