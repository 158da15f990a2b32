"""The outbox lease protocol over the message repository port, as a Hypothesis state machine.

Several senders (workers) claim due messages (``claim_due``) or chosen ones (``claim``, as the
"send now" of a clerk), check their lease right before each delivery exactly as
:class:`~contos_messaging.services.leases.Heartbeat` does, hand the message to a fake transport,
and commit the outcome under their lease token (``update_many``). Time moves on a
:class:`ManualClock`; while it moves, every live worker's heartbeat renews its batches' leases
every third of the lease. Workers give undelivered claims back (``Sender._release``), crash
(forget their claims, come back under a new name) or freeze (their heartbeat stops while time
passes; then they carry on with what they held, unaware); a clerk cancels waiting messages.

The model predicts every answer of the store (which messages are due, which claims succeed,
what a lease check returns, which renewals and commits are refused) and checks, after every
step, that:

* no message is accepted by the transport twice, unless its lease was taken over from a
  holder that had handed it over but not recorded the outcome (the window the design accepts:
  a crash or a freeze between delivery and commit);
* a message is delivered only while its lease is held under the deliverer's token;
* the store holds what the model expects, and a SENDING message is leased under its last
  claim's token (so it is either being sent or, once the lease ends, taken back), while every
  older token of it is fenced.

At the end, every worker stops, the clock passes the lease, and a fresh worker drains the
outbox: everything must then be SENT or CANCELLED, SENT ones accepted exactly once (outside the
window) and CANCELLED ones never, and the send log must hold exactly the committed outcomes.

The rare paths (a lease lost before delivery, at commit, or found by the heartbeat; a renewal
before delivery; a retry time) are also driven step by step at the end of the file.

Runs against the in-memory fake and the SQLite adapter. ``LEASE_PROTOCOL_EXAMPLES`` sets how
many examples each runs (default 30).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from contos_messaging import AttemptKind, MessageStatus, RecipientOutcome, SendAttempt
from contos_messaging.adapters.clock import ManualClock
from contos_messaging.adapters.memory import InMemoryMessageRepository
from contos_messaging.adapters.sqlite import SQLiteKeyStore, SQLiteMessageRepository
from contos_messaging.domain.ids import uuid7
from contos_messaging.domain.integrity import Claim, LeaseTerms, Update
from contos_messaging.domain.message import Message
from contos_messaging.errors import ConcurrentModification
from tests.factories import email

T = TypeVar("T")
S = MessageStatus
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
MASTER = bytes(range(32))
LEASE = timedelta(seconds=2)
BEAT = LEASE / 3  # the heartbeat renews every third of the lease (services.leases)
MIN_LEFT = LEASE / 2  # a delivery starts only with at least half of the lease left
WORKERS = 3
SENDABLE = frozenset({S.DRAFT, S.QUEUED, S.DEFERRED, S.SENDING})  # services.send
CANCELLABLE = frozenset({S.DRAFT, S.QUEUED, S.DEFERRED})

SETTINGS = settings(
    max_examples=int(os.environ.get("LEASE_PROTOCOL_EXAMPLES", "30")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

workers = st.integers(0, WORKERS - 1)
picks = st.integers(0, 63)


def note(what: str) -> None:
    """Record which protocol path an example reached, as a Hypothesis event (listed by
    ``--hypothesis-show-statistics`` when a machine runs as its ``TestCase``); nothing when
    the machine is driven by hand."""
    if currently_in_test_context():
        event(what)


def _state(message: Message) -> tuple[S, int, int]:
    return (message.status, message.version, message.attempts)


@dataclass
class Handover:
    """One message handed to the fake transport; ``refused`` once the transport's answer was a
    temporary refusal (the worker then defers it)."""

    message_id: str
    refused: bool = False


@dataclass
class Held:
    """A claim a worker still holds in one batch (its outcome not committed yet)."""

    claim: Claim
    handover: Handover | None = None  # set once delivered


@dataclass
class Batch:
    """What one claim call gave a worker: the heartbeat renews it as one, like a sender run."""

    held: dict[str, Held] = field(default_factory=dict)
    lost: set[str] = field(default_factory=set)

    def active(self) -> list[Claim]:
        return [h.claim for i, h in self.held.items() if i not in self.lost]


@dataclass
class Worker:
    name: str
    batches: list[Batch] = field(default_factory=list)
    frozen: bool = False  # its heartbeat does not beat

    def held(self, *, delivered: bool) -> list[tuple[Batch, Held]]:
        return [
            (batch, held)
            for batch in self.batches
            for held in batch.held.values()
            if (held.handover is not None) is delivered
        ]


@dataclass
class Lease:
    token: str
    until: datetime


class LeaseProtocol(RuleBasedStateMachine):
    """Workers claiming, renewing, delivering and committing over one repository."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.path = Path(tempfile.mkdtemp(prefix="lease-protocol-"))
        self.clock = ManualClock(T0)
        self.helpers: list[Any] = []
        self.repository: Any = self.run(self.open(self.path))
        self.workers = [Worker(f"W{i}") for i in range(WORKERS)]
        self.incarnations = Counter[int]()
        # The model: the stored messages as expected, their current leases, every token issued.
        self.ids: list[str] = []
        self.stored: dict[str, Message] = {}
        self.leases: dict[str, Lease] = {}
        self.tokens: dict[str, list[str]] = {}
        self.seen: dict[str, list[Message]] = {}  # every state observed, for stale reads
        # The fake transport and the duplicates the design accepts.
        self.handovers: list[Handover] = []
        self.delivered_tokens: set[str] = set()  # handed over, outcome not committed
        self.window: set[str] = set()
        self.recorded: Counter[tuple[str, str, S]] = Counter()  # (id, worker, outcome) committed
        self.clean = True
        self.drained = False

    async def open(self, path: Path) -> Any:
        raise NotImplementedError

    def run(self, coroutine: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coroutine)

    @contextmanager
    def step(self) -> Iterator[None]:
        """Marks the state unclean while a step runs: a failed step skips the final drain."""
        self.clean = False
        yield
        self.clean = True

    # -- model helpers --------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def holds(self, message_id: str, token: str) -> bool:
        lease = self.leases.get(message_id)
        return lease is not None and lease.token == token

    def due(self, now: datetime) -> set[str]:
        due = set()
        for message_id, message in self.stored.items():
            if message.status is S.QUEUED:
                ready = message.scheduled_at is None or message.scheduled_at <= now
            elif message.status is S.DEFERRED:
                ready = message.next_attempt_at is None or message.next_attempt_at <= now
            elif message.status is S.SENDING:
                ready = self.leases[message_id].until <= now
            else:
                ready = False
            if ready:
                due.add(message_id)
        return due

    def took(self, claim: Claim, before: Message, *, now: datetime, owner: str) -> None:
        """Check one claim the store granted and record it in the model."""
        message = claim.message
        assert claim.previous is not None
        assert _state(claim.previous) == _state(before)
        assert message.status is S.SENDING
        assert (message.version, message.attempts) == (before.version, before.attempts + 1)
        assert claim.until == now + LEASE
        issued = self.tokens.setdefault(message.id, [])
        assert claim.token not in issued, "a token was issued twice"
        if before.status is S.SENDING:  # taken over from a holder whose lease ended
            old = self.leases[message.id]
            assert old.until <= now, f"{message.id} taken over while its lease held ({owner})"
            note("lease taken over")
            if old.token in self.delivered_tokens:
                note("lease taken over after a hand-over (duplicate allowed)")
                self.window.add(message.id)
        issued.append(claim.token)
        self.stored[message.id] = message
        self.seen[message.id].append(message)
        self.leases[message.id] = Lease(claim.token, claim.until)

    def batch(self, worker: Worker, claims: list[Claim]) -> None:
        if claims:
            worker.batches.append(Batch({c.message.id: Held(c) for c in claims}))

    def forget_finished_batches(self, worker: Worker) -> None:
        worker.batches = [b for b in worker.batches if b.held]

    def pick(self, items: list[T], pick: int) -> T:
        return items[pick % len(items)]

    def holding(self, *, delivered: bool) -> list[Worker]:
        """Workers holding claims not yet delivered (or delivered, not yet committed)."""
        return [w for w in self.workers if w.held(delivered=delivered)]

    # -- what a worker does ---------------------------------------------------------------

    def do_claim_due(self, worker: Worker, limit: int = 100) -> list[Claim]:
        now = self.now()
        expected = self.due(now)
        before = dict(self.stored)
        claims = self.run(
            self.repository.claim_due(LeaseTerms(worker.name, now, now + LEASE), limit=limit)
        )
        got = [c.message.id for c in claims]
        assert len(got) == len(set(got)), f"claim_due returned a message twice: {got}"
        assert set(got) <= expected, f"due {sorted(expected)}, claimed {sorted(got)}"
        assert len(got) == min(limit, len(expected)), f"due {sorted(expected)}, claimed {got}"
        for claim in claims:
            self.took(claim, before[claim.message.id], now=now, owner=worker.name)
        self.batch(worker, claims)
        return claims

    def do_deliver(self, worker: Worker, batch: Batch, held: Held) -> bool:
        """The check of ``Heartbeat.holds`` right before delivery, then the hand-over."""
        claim, now = held.claim, self.now()
        message_id, token = claim.message.id, claim.token
        if message_id in batch.lost:
            note("lease lost: known from the heartbeat")
            del batch.held[message_id]  # the sender skips it: LEASE_LOST
            return False
        until = self.run(self.repository.lease(message_id, token))
        expected = self.leases[message_id].until if self.holds(message_id, token) else None
        assert until == expected, f"lease({message_id}) is {until}, expected {expected}"
        if until is None:
            note("lease lost: found right before delivery")
            batch.lost.add(message_id)
            del batch.held[message_id]
            return False
        if until - now < MIN_LEFT:
            note("less than half the lease left: renewed before delivery")
            lost = self.run(self.repository.renew([claim], lease_until=now + LEASE))
            assert lost == [], f"renewing a held lease of {message_id} was refused"
            self.leases[message_id].until = now + LEASE
        # The safety the check buys: the token holds, with time left, during the hand-over.
        assert self.holds(message_id, token), f"{message_id} delivered without its lease"
        assert self.leases[message_id].until - now >= MIN_LEFT
        held.handover = Handover(message_id)
        self.handovers.append(held.handover)
        self.delivered_tokens.add(token)
        return True

    def do_commit(
        self, worker: Worker, batch: Batch, held: Held, *, accepted: bool, retry_in: timedelta
    ) -> bool:
        """Record the outcome under the lease token, as ``OutcomeWriter`` does."""
        claim, now = held.claim, self.now()
        message = claim.message
        assert held.handover is not None
        if not accepted:
            held.handover.refused = True  # the transport refused it temporarily
        status = S.SENT if accepted else S.DEFERRED
        final = message.transition(
            status, at=now, next_attempt_at=now + retry_in if not accepted else None
        )
        recipients = tuple(
            RecipientOutcome(r, accepted, 250 if accepted else 451, "", not accepted)
            for r in message.recipients.envelope
        )
        attempt = self.attempt(worker, message, status, recipients)
        holds = self.holds(message.id, claim.token)
        failed = self.run(
            self.repository.update_many([Update(final, message, attempt, (), claim.token)])
        )
        assert failed == ([] if holds else [message.id]), (
            f"commit of {message.id}: store refused {failed}, lease held: {holds}"
        )
        if not holds:
            note("lease lost at commit")
        del batch.held[message.id]  # recorded, or the lease was lost: reported, not retried
        self.delivered_tokens.discard(claim.token)
        if holds:
            self.stored[message.id] = final
            self.seen[message.id].append(final)
            del self.leases[message.id]
            self.recorded[(message.id, worker.name, status)] += 1
        return holds

    def attempt(
        self,
        worker: Worker,
        message: Message,
        outcome: S,
        recipients: tuple[RecipientOutcome, ...] = (),
    ) -> SendAttempt:
        now = self.now()
        return SendAttempt(
            id=uuid7(now),
            message_id=message.id,
            message_version=message.version,
            attempt_no=message.attempts,
            kind=AttemptKind.SEND if message.attempts <= 1 else AttemptKind.RETRY,
            actor_id="outbox",
            transport="fake",
            started_at=now,
            finished_at=now,
            outcome=outcome,
            recipients=recipients,
            queued_by=message.queued_by,
            queued_at=message.queued_at,
            worker=worker.name,
        )

    def heartbeat(self) -> None:
        """Every live worker renews the leases of its batches' unfinished claims."""
        now = self.now()
        for worker in self.workers:
            if worker.frozen:
                continue
            for batch in worker.batches:
                active = batch.active()
                if not active:
                    continue
                lost = self.run(self.repository.renew(active, lease_until=now + LEASE))
                expected = [c.message.id for c in active if not self.holds(c.message.id, c.token)]
                assert sorted(lost) == sorted(expected), (
                    f"{worker.name} renewing: lost {lost}, expected {expected}"
                )
                for claim in active:
                    if claim.message.id not in lost:
                        self.leases[claim.message.id].until = now + LEASE
                if lost:
                    note("lease lost: found by the heartbeat")
                batch.lost |= set(lost)

    # -- rules ----------------------------------------------------------------------------

    @initialize(count=st.integers(1, 3))
    def some_messages(self, count: int) -> None:
        with self.step():
            for _ in range(count):
                self.add_one()

    def add_one(self) -> None:
        now = self.now()
        message = email(now, scheduled_at=now)
        assert message.status is S.QUEUED
        self.run(self.repository.add([message]))
        self.ids.append(message.id)
        self.stored[message.id] = message
        self.seen[message.id] = [message]

    @precondition(lambda self: len(self.ids) < 6)
    @rule()
    def add_message(self) -> None:
        with self.step():
            self.add_one()

    @rule(w=workers, limit=st.sampled_from([100, 1, 2]))
    def claim_due(self, w: int, limit: int) -> None:
        with self.step():
            self.do_claim_due(self.workers[w], limit)

    @precondition(lambda self: self.ids)
    @rule(w=workers, pick=picks, staleness=st.integers(0, 2))
    def send_now(self, w: int, pick: int, staleness: int) -> None:
        """A clerk presses send: the message as read (maybe a moment ago) is claimed."""
        with self.step():
            worker = self.workers[w]
            message_id = self.pick(self.ids, pick)
            seen = self.seen[message_id]
            read = seen[max(0, len(seen) - 1 - staleness)]
            if read.status not in SENDABLE:
                return  # the service skips it (already sent, cancelled, ...)
            now, current = self.now(), self.stored[message_id]
            grantable = _state(read) == _state(current) and (
                current.status is not S.SENDING or self.leases[message_id].until <= now
            )
            (claim,) = self.run(
                self.repository.claim(
                    [read], LeaseTerms(worker.name, now, now + LEASE), queued_by="clerk"
                )
            )
            assert (claim is not None) == grantable, (
                f"claim of {message_id} as {_state(read)} (stored {_state(current)}): {claim}"
            )
            if claim is None:
                note("send now refused (changed, or leased to another)")
            else:
                assert (claim.message.queued_by, claim.message.queued_at) == ("clerk", now)
                self.took(claim, current, now=now, owner=worker.name)
                self.batch(worker, [claim])

    @precondition(lambda self: self.holding(delivered=False))
    @rule(w=workers, pick=picks)
    def deliver(self, w: int, pick: int) -> None:
        with self.step():
            worker = self.pick(self.holding(delivered=False), w)
            batch, held = self.pick(worker.held(delivered=False), pick)
            self.do_deliver(worker, batch, held)
            self.forget_finished_batches(worker)

    @precondition(lambda self: self.holding(delivered=True))
    @rule(w=workers, pick=picks, accepted=st.booleans(), retry_in=st.integers(0, 6))
    def commit(self, w: int, pick: int, accepted: bool, retry_in: int) -> None:
        with self.step():
            worker = self.pick(self.holding(delivered=True), w)
            batch, held = self.pick(worker.held(delivered=True), pick)
            self.do_commit(
                worker, batch, held, accepted=accepted, retry_in=timedelta(seconds=retry_in)
            )
            self.forget_finished_batches(worker)

    @precondition(lambda self: self.holding(delivered=False))
    @rule(w=workers, pick=picks, tried=st.booleans())
    def give_back(self, w: int, pick: int, tried: bool) -> None:
        """The sender gives an undelivered claim back without using a retry, as
        ``Sender._release`` does when its transport stopped: untouched, as before the claim;
        or ``tried``, QUEUED with the attempt undone and logged. A lost lease makes the write
        fail (ignored: the outbox takes the message back)."""
        with self.step():
            worker = self.pick(self.holding(delivered=False), w)
            batch, held = self.pick(worker.held(delivered=False), pick)
            claim, now = held.claim, self.now()
            message, attempt = claim.message, None
            if not tried:
                assert claim.previous is not None
                back = attrs.evolve(claim.previous, updated_at=now)
                if back.status is S.SENDING:  # taken over from a dead sender: queue it again
                    back = attrs.evolve(back, status=S.QUEUED)
            else:
                attempt = self.attempt(worker, message, S.QUEUED)
                back = message.transition(S.QUEUED, at=now)
                back = attrs.evolve(back, attempts=message.attempts - 1)
            holds = self.holds(message.id, claim.token)
            try:
                self.run(
                    self.repository.update(
                        Update(back, message, attempt=attempt, lease_token=claim.token)
                    )
                )
                given = True
            except ConcurrentModification:
                given = False
            assert given == holds, f"giving back {claim.message.id}: lease held: {holds}"
            del batch.held[claim.message.id]
            if given:
                self.stored[back.id] = back
                self.seen[back.id].append(back)
                del self.leases[back.id]
                if attempt is not None:
                    self.recorded[(back.id, worker.name, S.QUEUED)] += 1
            else:
                note("lease lost: found when giving a claim back")
            self.forget_finished_batches(worker)

    @rule(ms=st.integers(0, int(2 * LEASE.total_seconds() * 1000)))
    def advance(self, ms: int) -> None:
        """Time passes in steps of at most a third of the lease, each followed by a beat."""
        with self.step():
            self.advance_by(timedelta(milliseconds=ms))

    def advance_by(self, left: timedelta) -> None:
        while left > timedelta(0):
            step = min(BEAT, left)
            self.clock.advance(step)
            left -= step
            self.heartbeat()

    def busy(self) -> list[int]:
        return [i for i, worker in enumerate(self.workers) if worker.batches]

    @precondition(lambda self: self.busy())
    @rule(w=workers)
    def crash(self, w: int) -> None:
        """The worker dies: its claims stay leased in the store; it restarts as a new owner."""
        with self.step():
            w = self.pick(self.busy(), w)
            self.incarnations[w] += 1
            self.workers[w] = Worker(f"W{w}.{self.incarnations[w]}")

    @precondition(lambda self: self.busy())
    @rule(
        w=workers,
        ms=st.integers(0, int(2 * LEASE.total_seconds() * 1000)),
        meanwhile=st.booleans(),
    )
    def pause(self, w: int, ms: int, meanwhile: bool) -> None:
        """The worker's process freezes (its heartbeat too) while time passes for the others
        (and, ``meanwhile``, another worker claims what is due); then it carries on with what
        it held, without having noticed anything."""
        with self.step():
            index = self.pick(self.busy(), w)
            self.freeze(self.workers[index], timedelta(milliseconds=ms))
            if meanwhile:
                self.do_claim_due(self.workers[(index + 1) % WORKERS])

    def freeze(self, worker: Worker, left: timedelta) -> None:
        worker.frozen = True
        try:
            self.advance_by(left)
        finally:
            worker.frozen = False

    def cancellable(self) -> list[str]:
        return [i for i in self.ids if self.stored[i].status in CANCELLABLE]

    @precondition(lambda self: self.cancellable())
    @rule(pick=picks)
    def cancel(self, pick: int) -> None:
        """A clerk withdraws a message that waits (DRAFT, QUEUED or DEFERRED)."""
        with self.step():
            message_id = self.pick(self.cancellable(), pick)
            current = self.stored[message_id]
            cancelled = current.transition(S.CANCELLED, at=self.now())
            self.run(self.repository.update(Update(cancelled, current)))
            self.stored[message_id] = cancelled
            self.seen[message_id].append(cancelled)

    # -- invariants -----------------------------------------------------------------------

    def accepted(self) -> Counter[str]:
        return Counter(h.message_id for h in self.handovers if not h.refused)

    @invariant()
    def no_message_is_accepted_twice_outside_a_takeover_window(self) -> None:
        with self.step():
            twice = {i for i, n in self.accepted().items() if n > 1}
            assert twice <= self.window, f"accepted twice: {sorted(twice - self.window)}"

    @invariant()
    def the_store_matches_the_model_and_every_sending_message_is_leased(self) -> None:
        with self.step():
            if not self.ids:
                return
            stored = self.run(self.repository.get_many(self.ids))
            for message in stored:
                expected = self.stored[message.id]
                assert (message.status, message.version, message.attempts) == _state(expected)
                assert message.next_attempt_at == expected.next_attempt_at
                assert message.queued_by == expected.queued_by
                tokens = self.tokens.get(message.id, [])
                if message.status is S.SENDING:
                    lease = self.leases[message.id]
                    assert tokens[-1] == lease.token
                    until = self.run(self.repository.lease(message.id, lease.token))
                    assert until == lease.until, f"{message.id} SENDING, lease {until}"
                else:
                    assert message.id not in self.leases
                older = tokens[:-1] if message.status is S.SENDING else tokens
                for old in older[-2:]:  # fenced: they hold nothing any more
                    assert self.run(self.repository.lease(message.id, old)) is None, (
                        f"an old token still holds {message.id} ({message.status})"
                    )

    # -- the end --------------------------------------------------------------------------

    def drain(self) -> None:
        """Everyone stops; past the lease, a fresh worker sends whatever is left."""
        self.clock.advance(LEASE + timedelta(seconds=1))
        final = Worker("final")
        for _round in range(4 * len(self.ids) + 4):
            claims = self.do_claim_due(final)
            if not claims:
                retries = [
                    m.next_attempt_at for m in self.stored.values() if m.status is S.DEFERRED
                ]
                if not retries:
                    break
                self.clock.set(max(t or self.now() for t in retries))
                continue
            for batch in list(final.batches):
                for held in list(batch.held.values()):
                    assert self.do_deliver(final, batch, held), "the fresh worker lost a lease"
                    assert self.do_commit(
                        final, batch, held, accepted=True, retry_in=timedelta(0)
                    ), "the fresh worker could not record an outcome"
            self.forget_finished_batches(final)
        else:
            raise AssertionError("the outbox did not drain")
        self.no_message_is_accepted_twice_outside_a_takeover_window()
        self.the_store_matches_the_model_and_every_sending_message_is_leased()
        stored = {m.id: m for m in self.run(self.repository.get_many(self.ids))}
        accepted = self.accepted()
        for message_id, message in stored.items():
            assert message.status in (S.SENT, S.CANCELLED), f"{message_id} stuck {message.status}"
            if message_id in self.window:
                continue
            want = 1 if message.status is S.SENT else 0
            assert accepted[message_id] == want, (
                f"{message_id} {message.status} accepted {accepted[message_id]} times"
            )
        logged = Counter(
            (a.message_id, a.worker, a.outcome)
            for message_id in self.ids
            for a in self.run(self.repository.attempts(message_id))
        )
        assert logged == self.recorded, "the send log is not the committed outcomes"
        now = self.now()
        leftover = self.run(self.repository.claim_due(LeaseTerms("last", now, now + LEASE)))
        assert leftover == []
        self.drained = True

    def teardown(self) -> None:
        try:
            if self.clean and not self.drained:
                self.drain()
        finally:
            try:
                self.run(self.repository.aclose())
                for helper in self.helpers:
                    self.run(helper.aclose())
                self.run(self.loop.shutdown_asyncgens())
            finally:
                self.loop.close()
                shutil.rmtree(self.path, ignore_errors=True)


class InMemoryLeaseProtocol(LeaseProtocol):
    async def open(self, path: Path) -> Any:
        return InMemoryMessageRepository()


class SQLiteLeaseProtocol(LeaseProtocol):
    async def open(self, path: Path) -> Any:
        keys = await SQLiteKeyStore.open(path / "keys.sqlite", MASTER)
        self.helpers.append(keys)
        return await SQLiteMessageRepository.open(path / "messages.sqlite", keys=keys)


def test_in_memory_leases_never_deliver_twice_outside_a_takeover_and_leave_nothing_stuck():
    run_state_machine_as_test(InMemoryLeaseProtocol, settings=SETTINGS)


def test_sqlite_leases_never_deliver_twice_outside_a_takeover_and_leave_nothing_stuck():
    run_state_machine_as_test(SQLiteLeaseProtocol, settings=SETTINGS)


# -- the rare paths, step by step (the same model and checks, on both stores) -------------------

MACHINES: dict[str, type[LeaseProtocol]] = {
    "memory": InMemoryLeaseProtocol,
    "sqlite": SQLiteLeaseProtocol,
}
stores = pytest.mark.parametrize("store", sorted(MACHINES))


@contextmanager
def protocol(store: str) -> Iterator[LeaseProtocol]:
    """A machine driven by hand; the invariants are checked at the end, then it drains."""
    machine = MACHINES[store]()
    try:
        yield machine
        machine.no_message_is_accepted_twice_outside_a_takeover_window()
        machine.the_store_matches_the_model_and_every_sending_message_is_leased()
    except BaseException:
        machine.clean = False
        raise
    finally:
        machine.teardown()


def _only(worker: Worker, *, delivered: bool) -> tuple[Batch, Held]:
    (found,) = worker.held(delivered=delivered)
    return found


@stores
def test_a_worker_frozen_after_delivery_is_taken_over_and_its_late_commit_is_refused(store):
    with protocol(store) as m:
        m.add_one()
        (message_id,) = m.ids
        w0, w1 = m.workers[0], m.workers[1]
        assert len(m.do_claim_due(w0)) == 1
        assert m.do_deliver(w0, *_only(w0, delivered=False))
        m.freeze(w0, LEASE + timedelta(milliseconds=500))
        assert [c.message.id for c in m.do_claim_due(w1)] == [message_id]
        assert m.window == {message_id}  # handed over, not recorded: a second delivery may come
        assert m.do_deliver(w1, *_only(w1, delivered=False))
        assert m.do_commit(w1, *_only(w1, delivered=True), accepted=True, retry_in=timedelta(0))
        late = _only(w0, delivered=True)
        assert not m.do_commit(w0, *late, accepted=True, retry_in=timedelta(0))
        stored = m.run(m.repository.get(message_id))
        assert (stored.status, stored.attempts) == (S.SENT, 2)
        attempts = m.run(m.repository.attempts(message_id))
        assert [(a.worker, a.outcome) for a in attempts] == [("W1", S.SENT)]
        assert m.accepted()[message_id] == 2


@stores
def test_a_worker_frozen_before_delivery_does_not_deliver_a_message_taken_over(store):
    with protocol(store) as m:
        m.add_one()
        (message_id,) = m.ids
        w0, w1 = m.workers[0], m.workers[1]
        m.do_claim_due(w0)
        m.freeze(w0, LEASE)  # the lease ends exactly now: it is due again
        assert [c.message.id for c in m.do_claim_due(w1)] == [message_id]
        assert not m.do_deliver(w0, *_only(w0, delivered=False))
        assert w0.held(delivered=False) == []
        assert m.do_deliver(w1, *_only(w1, delivered=False))
        assert m.do_commit(w1, *_only(w1, delivered=True), accepted=True, retry_in=timedelta(0))
        assert m.window == set()
        assert m.accepted() == Counter({message_id: 1})


@stores
def test_with_less_than_half_the_lease_left_the_lease_is_renewed_before_delivery(store):
    with protocol(store) as m:
        m.add_one()
        (message_id,) = m.ids
        w0, w1 = m.workers[0], m.workers[1]
        (claim,) = m.do_claim_due(w0)
        m.freeze(w0, timedelta(milliseconds=1500))
        assert m.do_deliver(w0, *_only(w0, delivered=False))
        renewed = m.run(m.repository.lease(message_id, claim.token))
        assert renewed == m.now() + LEASE
        m.freeze(w0, timedelta(milliseconds=1900))
        assert m.do_claim_due(w1) == []  # the renewal keeps it from the others
        assert m.do_commit(w0, *_only(w0, delivered=True), accepted=True, retry_in=timedelta(0))
        assert m.accepted() == Counter({message_id: 1})


@stores
def test_the_heartbeat_finds_leases_lost_during_a_freeze_and_they_are_not_delivered(store):
    with protocol(store) as m:
        m.add_one()
        m.add_one()
        w0, w1 = m.workers[0], m.workers[1]
        assert len(m.do_claim_due(w0)) == 2
        m.freeze(w0, LEASE + timedelta(milliseconds=100))
        taken = m.do_claim_due(w1)
        assert {c.message.id for c in taken} == set(m.ids)
        m.freeze(w1, BEAT)  # only w0 beats: it learns of the loss and extends nobody's lease
        (batch,) = w0.batches
        assert batch.lost == set(m.ids)
        for claim in taken:
            assert m.run(m.repository.lease(claim.message.id, claim.token)) == claim.until
        for held in list(batch.held.values()):
            assert not m.do_deliver(w0, batch, held)
        assert m.handovers == []


@stores
def test_a_crash_after_delivery_is_taken_back_only_once_the_lease_has_ended(store):
    with protocol(store) as m:
        m.add_one()
        (message_id,) = m.ids
        m.do_claim_due(m.workers[0])
        assert m.do_deliver(m.workers[0], *_only(m.workers[0], delivered=False))
        m.crash(0)
        assert m.workers[0].name == "W0.1"
        assert m.workers[0].batches == []
        m.advance_by(timedelta(milliseconds=1900))
        assert m.do_claim_due(m.workers[1]) == []
        m.advance_by(timedelta(milliseconds=100))
        assert [c.message.id for c in m.do_claim_due(m.workers[1])] == [message_id]
        assert m.window == {message_id}
        w1 = m.workers[1]
        assert m.do_deliver(w1, *_only(w1, delivered=False))
        assert m.do_commit(w1, *_only(w1, delivered=True), accepted=True, retry_in=timedelta(0))
        assert (m.run(m.repository.get(message_id))).status is S.SENT


@stores
def test_send_now_claims_a_message_only_as_stored_and_not_under_a_live_lease(store):
    with protocol(store) as m:
        m.add_one()
        (message_id,) = m.ids
        m.send_now(0, 0, 0)
        assert len(m.workers[0].batches) == 1
        m.send_now(1, 0, 1)  # read while it was still QUEUED: changed since
        m.send_now(1, 0, 0)  # read as SENDING: its lease holds
        assert m.workers[1].batches == []
        m.freeze(m.workers[0], LEASE)
        m.send_now(1, 0, 0)  # the lease has ended: taken over
        (batch,) = m.workers[1].batches
        assert batch.held[message_id].claim.message.attempts == 2
        assert batch.held[message_id].claim.message.queued_by == "clerk"


@stores
def test_a_deferred_message_is_due_again_only_at_its_retry_time(store):
    with protocol(store) as m:
        m.add_one()
        (message_id,) = m.ids
        w0, w1 = m.workers[0], m.workers[1]
        m.do_claim_due(w0)
        assert m.do_deliver(w0, *_only(w0, delivered=False))
        retry_in = timedelta(seconds=3)
        assert m.do_commit(w0, *_only(w0, delivered=True), accepted=False, retry_in=retry_in)
        assert m.run(m.repository.get(message_id)).next_attempt_at == m.now() + retry_in
        m.advance_by(retry_in - timedelta(milliseconds=1))
        assert m.do_claim_due(w1) == []
        m.advance_by(timedelta(milliseconds=1))
        (claim,) = m.do_claim_due(w1)
        assert claim.message.attempts == 2
        assert m.do_deliver(w1, *_only(w1, delivered=False))
        assert m.do_commit(w1, *_only(w1, delivered=True), accepted=True, retry_in=timedelta(0))
        assert m.accepted() == Counter({message_id: 1})  # the refused hand-over does not count
