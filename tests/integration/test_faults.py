"""The fault matrix of the outbox (R2-R28 of the sending design), against the real embedded
store and a real aiosmtpd over TLS, with sender processes killed by SIGKILL where a crash is
involved. Time is a manual clock wherever the outcome depends on it (retries, leases)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Attachment,
    AuthenticationFailed,
    LimitExceeded,
    MessageStatus,
    MessengerSettings,
    Permission,
    SkipReason,
    TLSFailure,
)
from contos_messaging.adapters.clock import ManualClock
from contos_messaging.adapters.smtp import SMTPTransport
from contos_messaging.ports import OutgoingEmail
from contos_messaging.testing.smtp import LocalSMTPServer
from tests.integration.conftest import MASTER_KEY, worker_env

S = MessageStatus
WORKER = Path(__file__).with_name("_fault_worker.py")
ROOT = Path(__file__).resolve().parents[2]
SENDER = "info@contos.example.com"
JANA = Actor("jana", permissions={Permission.COMPOSE, Permission.SEND})
LEASE = timedelta(seconds=2)


@pytest.fixture
def server() -> Any:
    with LocalSMTPServer() as running:
        yield running


async def _open(store: Path, clock: ManualClock, transport: Any, **settings: Any) -> AsyncMessenger:
    return await AsyncMessenger.open(
        store,
        master_key=MASTER_KEY,
        settings=MessengerSettings(company_sender=SENDER, **settings) if settings else None,
        company_sender=None if settings else SENDER,
        email_transport=transport,
        clock=clock,
    )


@pytest.fixture
async def outbox(store_dir: Path, clock: ManualClock, server: Any) -> AsyncIterator[AsyncMessenger]:
    messenger = await _open(store_dir, clock, server.transport(timeout=5))
    try:
        yield messenger
    finally:
        await messenger.aclose()


async def _queue(messenger: AsyncMessenger, count: int, **options: Any) -> list[str]:
    now = messenger.ports.clock.now()
    return [
        (await messenger.compose_email(JANA, to=f"k{i}@example.com", subject=f"S{i}",
                                       text="T", scheduled_at=now, **options)).id
        for i in range(count)
    ]  # fmt: skip


def _copies(server: Any) -> Counter[str]:
    return Counter(m.message["Message-ID"] for m in server.messages)


def _run_worker(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(WORKER), *args],
        capture_output=True, text=True, env=worker_env(), cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    return done.stdout


def _after_the_lease(seconds: int = 31) -> ManualClock:
    """A clock past the 30-second leases of a worker that has just died."""
    return ManualClock(datetime.now(UTC) + timedelta(seconds=seconds))


class _Wrapped:
    """A real transport with a hook before each delivery (a gate, a foreign error, ...)."""

    def __init__(self, inner: SMTPTransport, before: Callable[[OutgoingEmail], Any]) -> None:
        self._inner = inner
        self._before = before
        self.connections = 1
        self.name = inner.name
        self.max_message_size = inner.max_message_size

    async def size_limit(self) -> int | None:
        return await self._inner.size_limit()

    async def send(self, email: OutgoingEmail, /) -> Any:
        hook = self._before(email)
        if asyncio.iscoroutine(hook):
            await hook
        return await self._inner.send(email)

    async def aclose(self) -> None:
        await self._inner.aclose()


# -- crashes ----------------------------------------------------------------------------------


async def test_r2_crash_after_queueing_before_any_attempt_sends_exactly_once(store_dir, server):
    out = _run_worker("queue", str(store_dir), "5")
    queued = [line.split()[1] for line in out.splitlines() if line.startswith("queued")]
    assert len(queued) == 5
    messenger = await _open(store_dir, ManualClock(datetime.now(UTC)), server.transport())
    try:
        assert len((await messenger.send_due()).sent) == 5
        assert (await messenger.send_due()).outcomes == ()
        assert {(await messenger.get(i)).status for i in queued} == {S.SENT}
    finally:
        await messenger.aclose()
    assert sorted(_copies(server).values()) == [1] * 5


async def test_r3_crash_after_claiming_before_connecting_is_taken_back_and_sent_once(
    store_dir, server, clock
):
    messenger = await _open(store_dir, ManualClock(datetime.now(UTC)), None)
    ids = await _queue(messenger, 5)
    await messenger.aclose()
    _run_worker("before-connect", str(store_dir), str(server.port), str(server.ca_file))
    messenger = await _open(store_dir, _after_the_lease(), server.transport())
    try:
        claimed = [await messenger.get(i) for i in ids]
        assert {m.status for m in claimed} == {S.SENDING}  # the dead worker's lease
        report = await messenger.send_due()
        assert sorted(report.sent) == sorted(ids)
    finally:
        await messenger.aclose()
    assert sorted(_copies(server).values()) == [1] * 5


async def test_r4_crash_after_the_servers_250_before_the_commit_goes_again_same_message_id(
    store_dir, server
):
    messenger = await _open(store_dir, ManualClock(datetime.now(UTC)), None)
    (message_id,) = await _queue(messenger, 1)
    await messenger.aclose()
    _run_worker("before-commit", str(store_dir), str(server.port), str(server.ca_file))
    assert len(server.messages) == 1  # accepted, but the worker died before recording it
    messenger = await _open(store_dir, _after_the_lease(), server.transport())
    try:
        assert (await messenger.get(message_id)).status is S.SENDING
        assert (await messenger.send_due()).sent == (message_id,)
        assert len(await messenger.send_log(message_id)) == 1  # only the recorded attempt
        header = (await messenger.get(message_id)).message_id_header
    finally:
        await messenger.aclose()
    assert _copies(server) == {header: 2}  # at most two copies, one Message-ID


async def test_r26_sigterm_mid_batch_leaves_nothing_claimed(store_dir, server):
    """SIGTERM during a watch-mode run: the batch in flight finishes and is recorded, the
    worker exits 0, no message is left SENDING, and the server got exactly what was sent."""
    messenger = await _open(store_dir, ManualClock(datetime.now(UTC)), None)
    ids = await _queue(messenger, 300)
    await messenger.aclose()
    worker = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_store_worker.py")), "watch",
         str(store_dir), str(server.port), str(server.ca_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=worker_env(), cwd=ROOT,
    )  # fmt: skip
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "ready"
    while not worker.stdout.readline().startswith("progress"):
        pass
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert "stopped" in out
    messenger = await _open(store_dir, ManualClock(datetime.now(UTC)), None)
    try:
        messages = await messenger.ports.repository.get_many(ids)
    finally:
        await messenger.aclose()
    statuses = {m.status for m in messages}
    assert S.SENDING not in statuses
    assert S.QUEUED in statuses  # it really stopped before the end
    sent = {m.message_id_header for m in messages if m.status is S.SENT}
    assert sorted(_copies(server)) == sorted(sent)
    assert set(_copies(server).values()) == {1}


# -- the connection and the server's answers ---------------------------------------------------


async def test_r5_connection_dropped_after_the_final_dot_is_deferred_then_sent_again(
    outbox, server, clock
):
    (message_id,) = await _queue(outbox, 1)
    server.drop_after_data = True
    assert (await outbox.send_due()).deferred == (message_id,)
    clock.advance(timedelta(hours=1))
    assert (await outbox.send_due()).sent == (message_id,)
    header = (await outbox.get(message_id)).message_id_header
    assert _copies(server) == {header: 2}  # the documented at-least-once case


async def test_r6_read_timeout_after_data_is_deferred(store_dir, clock, server):
    server.data_gate = gate = threading.Event()
    messenger = await _open(store_dir, clock, server.transport(timeout=0.5))
    try:
        (message_id,) = await _queue(messenger, 1)
        report = await messenger.send_due()
        assert report.deferred == (message_id,)
        (attempt,) = await messenger.send_log(message_id)
        assert "no answer in time" in (attempt.error or "")
        assert (await messenger.get(message_id)).next_attempt_at is not None
    finally:
        gate.set()
        await messenger.aclose()


async def _banner_server(reply: bytes | None) -> tuple[asyncio.Server, int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if reply is not None:
            writer.write(reply)
            await writer.drain()
            writer.close()
        else:
            await reader.read()  # say nothing until the client gives up
            writer.close()

    started = await asyncio.start_server(answer, "127.0.0.1", 0)
    return started, started.sockets[0].getsockname()[1]


@pytest.mark.parametrize("where", ["connect", "EHLO", "MAIL", "RCPT", "DATA"])
async def test_r7_a_4xx_anywhere_defers_with_backoff_and_the_retry_time_is_respected(
    store_dir, clock, server, where
):
    if where == "connect":
        banner, port = await _banner_server(b"421 4.3.2 too busy\r\n")
        transport: Any = SMTPTransport("127.0.0.1", port, username="u", password="p")
    else:
        banner, transport = None, server.transport()
        if where == "DATA":
            server.data_reply = "451 4.3.0 try later"
        else:
            server.replies[where] = "421 4.3.2 busy" if where == "EHLO" else "451 4.3.0 later"
    messenger = await _open(store_dir, clock, transport)
    try:
        (message_id,) = await _queue(messenger, 1)
        assert (await messenger.send_due()).deferred == (message_id,)
        deferred = await messenger.get(message_id)
        (attempt,) = await messenger.send_log(message_id)
        assert attempt.recipients[0].temporary
        assert attempt.recipients[0].code in (421, 451)
        base = messenger.settings.retry_base
        assert clock.now() + base * 0.8 <= deferred.next_attempt_at <= clock.now() + base * 1.2
        assert (await messenger.send_due()).outcomes == ()  # not before its time
        clock.set(deferred.next_attempt_at - timedelta(microseconds=1))
        assert (await messenger.send_due()).outcomes == ()
    finally:
        await messenger.aclose()
        if banner is not None:
            banner.close()
    server.replies.clear()
    server.data_reply = None
    clock.set(deferred.next_attempt_at)
    messenger = await _open(store_dir, clock, server.transport())
    try:
        assert (await messenger.send_due()).sent == (message_id,)
    finally:
        await messenger.aclose()
    assert len(server.messages) == 1


@pytest.mark.parametrize("where", ["MAIL", "DATA"])
async def test_r8_a_5xx_fails_without_retry_with_code_and_text_per_recipient(
    outbox, server, clock, where
):
    reply = "554 5.7.1 rejected as spam"
    if where == "DATA":
        server.data_reply = reply
    else:
        server.replies["MAIL"] = reply
    (message_id,) = await _queue(outbox, 1)
    assert (await outbox.send_due()).failed == (message_id,)
    (attempt,) = await outbox.send_log(message_id)
    assert [(r.code, r.temporary) for r in attempt.recipients] == [(554, False)]
    assert "rejected as spam" in attempt.recipients[0].reply
    clock.advance(timedelta(days=2))
    assert (await outbox.send_due()).outcomes == ()
    assert server.messages == []


async def test_r9_partial_refusals_keep_accepted_recipients_and_retry_only_the_4xx_one(
    outbox, server, clock
):
    server.refuse["gone@example.com"] = "550 5.1.1 no such user"
    server.refuse["full@example.com"] = "452 4.2.2 mailbox full"
    message = await outbox.compose_email(
        JANA, to="ok@example.com, gone@example.com, full@example.com",
        subject="S", text="T", scheduled_at=clock.now(),
    )  # fmt: skip
    assert (await outbox.send_due()).deferred == (message.id,)
    (first,) = await outbox.send_log(message.id)
    assert {r.recipient: (r.accepted, r.code) for r in first.recipients} == {
        "ok@example.com": (True, 250),
        "gone@example.com": (False, 550),
        "full@example.com": (False, 452),
    }
    del server.refuse["full@example.com"]
    clock.advance(timedelta(hours=1))
    assert (await outbox.send_due()).partially_sent == (message.id,)
    _first, retry = await outbox.send_log(message.id)
    assert [r.recipient for r in retry.recipients] == ["full@example.com"]
    assert [m.recipients for m in server.messages] == [["ok@example.com"], ["full@example.com"]]


async def test_r10_every_recipient_refused_permanently_with_mixed_codes_fails(outbox, server):
    server.refuse["a@example.com"] = "550 5.1.1 no such user"
    server.refuse["b@example.com"] = "553 5.1.3 bad address syntax"
    message = await outbox.compose_email(
        JANA, to="a@example.com; b@example.com", subject="S", text="T",
        scheduled_at=outbox.ports.clock.now(),
    )  # fmt: skip
    assert (await outbox.send_due()).failed == (message.id,)
    (attempt,) = await outbox.send_log(message.id)
    assert sorted(r.code for r in attempt.recipients) == [550, 553]
    assert server.messages == []


async def test_r11_535_stops_the_transport_and_uses_no_retry(store_dir, clock, server):
    messenger = await _open(store_dir, clock, server.transport(password="wrong"))
    try:
        ids = await _queue(messenger, 3)
        report = await messenger.send_due()
        assert isinstance(report.error, AuthenticationFailed)
        assert report.error.code == 535
        assert set(report.skipped.values()) == {SkipReason.TRANSPORT_STOPPED}
        for message in [await messenger.get(i) for i in ids]:
            assert (message.status, message.attempts) == (S.QUEUED, 0)
    finally:
        await messenger.aclose()
    assert server.messages == []


@pytest.mark.parametrize("failure", ["untrusted certificate", "no STARTTLS offered"])
async def test_r12_a_tls_failure_stops_the_transport_and_never_downgrades(
    store_dir, clock, failure
):
    with LocalSMTPServer(offer_starttls=failure != "no STARTTLS offered") as tls_server:
        transport = (
            SMTPTransport("127.0.0.1", tls_server.port, username="contos", password="secret")
            if failure == "untrusted certificate"
            else tls_server.transport()
        )
        messenger = await _open(store_dir, clock, transport)
        try:
            (message_id,) = await _queue(messenger, 1)
            report = await messenger.send_due()
            assert isinstance(report.error, TLSFailure)
            assert (await messenger.get(message_id)).status is S.QUEUED
        finally:
            await messenger.aclose()
        assert tls_server.messages == []


@pytest.mark.parametrize("failure", ["refused", "no banner"])
async def test_r13_connection_refused_or_no_banner_defers(store_dir, clock, failure):
    banner = None
    if failure == "refused":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    else:
        banner, port = await _banner_server(None)
    transport = SMTPTransport("127.0.0.1", port, username="u", password="p", timeout=0.5)
    messenger = await _open(store_dir, clock, transport)
    try:
        (message_id,) = await _queue(messenger, 1)
        assert (await messenger.send_due()).deferred == (message_id,)
        (attempt,) = await messenger.send_log(message_id)
        assert attempt.recipients[0].temporary
    finally:
        await messenger.aclose()
        if banner is not None:
            banner.close()


async def test_r14_two_workers_claiming_at_once_send_each_message_once(store_dir, clock, server):
    first = await _open(store_dir, clock, server.transport())
    second = await _open(store_dir, clock, server.transport())
    try:
        ids = await _queue(first, 40)
        reports = await asyncio.gather(first.send_due(batch=5), second.send_due(batch=5))
        assert sorted(reports[0].sent + reports[1].sent) == sorted(ids)
        assert all(r.sent for r in reports)
    finally:
        await first.aclose()
        await second.aclose()
    assert sorted(_copies(server).values()) == [1] * 40


# -- leases -----------------------------------------------------------------------------------


async def _renewals(messenger: AsyncMessenger) -> asyncio.Queue[list[str]]:
    """Report each lease renewal of ``messenger`` (the heartbeat) on a queue."""
    repository = messenger.ports.repository
    real = repository.renew
    renewed: asyncio.Queue[list[str]] = asyncio.Queue()

    async def renew(claims: Any, /, *, lease_until: datetime) -> list[str]:
        lost = await real(claims, lease_until=lease_until)
        renewed.put_nowait(lost)
        return lost

    repository.renew = renew  # type: ignore[method-assign]
    return renewed


async def test_r15_a_batch_that_outlives_its_lease_is_never_taken_over_or_sent_twice(
    store_dir, clock, server
):
    """A holds ten claims and stalls on the first delivery for three lease lengths of clock
    time; its heartbeat keeps the leases, so B, running the outbox meanwhile, takes nothing:
    every message reaches the server exactly once."""
    entered, gate = asyncio.Event(), asyncio.Event()

    async def stall_first(email: OutgoingEmail) -> None:
        if not entered.is_set():
            entered.set()
            await gate.wait()

    a = await _open(store_dir, clock, _Wrapped(server.transport(), stall_first))
    b = await _open(store_dir, clock, server.transport())
    try:
        ids = await _queue(a, 10)
        renewed = await _renewals(a)
        run_a = asyncio.create_task(a.send_due(lease=LEASE, batch=10))
        await entered.wait()
        for _ in range(9):  # 9 x 0.7 s = 3 leases of 2 s
            clock.advance(0.7)
            assert await renewed.get() == []  # the heartbeat kept every lease
            assert (await b.send_due(lease=LEASE)).outcomes == ()
        gate.set()
        report = await run_a
        assert sorted(report.sent) == sorted(ids)
    finally:
        gate.set()
        await a.aclose()
        await b.aclose()
    assert sorted(_copies(server).values()) == [1] * 10


async def test_r15_a_sender_whose_lease_was_taken_over_hands_nothing_more_to_the_transport(
    store_dir, clock, server
):
    """A's renewals fail while it stalls on its first delivery; its leases end and B takes the
    batch over. When A wakes up it delivers nothing more: only the message that was already in
    A's transport when the lease ended can reach the server twice."""
    entered, gate = asyncio.Event(), asyncio.Event()
    delivered_by_a: list[str] = []

    async def stall_first(email: OutgoingEmail) -> None:
        delivered_by_a.append(email.message.id)
        if not entered.is_set():
            entered.set()
            await gate.wait()

    a = await _open(store_dir, clock, _Wrapped(server.transport(), stall_first))
    b = await _open(store_dir, clock, server.transport())
    try:
        ids = await _queue(a, 10)

        async def broken(claims: Any, /, *, lease_until: datetime) -> list[str]:
            raise OSError("disk I/O error")

        a.ports.repository.renew = broken  # type: ignore[method-assign]
        run_a = asyncio.create_task(a.send_due(lease=LEASE, batch=10))
        await entered.wait()
        clock.advance(LEASE + timedelta(seconds=1))
        taken = await b.send_due(lease=LEASE)
        assert sorted(taken.sent) == sorted(ids)
        gate.set()
        report = await run_a
        assert len(delivered_by_a) == 1  # the other nine were never handed over by A
        assert set(report.skipped.values()) == {SkipReason.LEASE_LOST}
    finally:
        gate.set()
        await a.aclose()
        await b.aclose()
    copies = _copies(server)
    assert sum(copies.values()) == 11
    assert sorted(copies.values()) == [1] * 9 + [2]


async def test_r19_a_failing_status_write_is_retried_and_the_mail_is_not_sent_again(outbox, server):
    repository = outbox.ports.repository
    real = repository.update_many
    failures = [OSError("database is locked")]

    async def flaky(updates: Any, /) -> list[str]:
        if failures:
            raise failures.pop()
        return await real(updates)

    repository.update_many = flaky  # type: ignore[method-assign]
    (message_id,) = await _queue(outbox, 1)
    assert (await outbox.send_due()).sent == (message_id,)
    assert failures == []  # the first write did fail
    assert len(await outbox.send_log(message_id)) == 1
    assert (await outbox.send_due()).outcomes == ()
    assert len(server.messages) == 1


async def test_r20_an_index_failure_after_sending_causes_no_resend(outbox, server):
    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("index disk full")

    outbox.ports.search.upsert = broken  # type: ignore[method-assign,union-attr]
    (message_id,) = await _queue(outbox, 1)
    assert (await outbox.send_due()).sent == (message_id,)
    await outbox.wait_indexed()
    assert (await outbox.send_due()).outcomes == ()
    assert (await outbox.get(message_id)).status is S.SENT
    assert len(server.messages) == 1


# -- one bad message --------------------------------------------------------------------------


def _poison(bad: set[str]) -> Callable[[OutgoingEmail], None]:
    def before(email: OutgoingEmail) -> None:
        if email.message.id in bad:
            raise RuntimeError("token endpoint returned garbage")  # a host callback's bug

    return before


async def test_r22_a_poison_message_fails_after_max_attempts_while_the_others_flow(
    store_dir, clock, server
):
    poison: set[str] = set()
    messenger = await _open(
        store_dir, clock, _Wrapped(server.transport(), _poison(poison)), max_attempts=3
    )
    try:
        ids = await _queue(messenger, 5)
        poison.add(ids[2])
        first = await messenger.send_due()
        assert sorted(first.sent) == sorted(set(ids) - {ids[2]})
        assert first.deferred == (ids[2],)
        for _ in range(4):
            clock.advance(timedelta(hours=3))
            await messenger.send_due()
        bad = await messenger.get(ids[2])
        assert (bad.status, bad.attempts) == (S.FAILED, 3)
        log = await messenger.send_log(ids[2])
        assert [a.outcome for a in log] == [S.DEFERRED, S.DEFERRED, S.FAILED]
        assert all("RuntimeError: token endpoint returned garbage" in (a.error or "") for a in log)
    finally:
        await messenger.aclose()
    assert sorted(_copies(server).values()) == [1] * 4


async def test_r23_retries_exhausted_fail_the_message(store_dir, clock, server):
    server.replies["RCPT"] = "450 4.2.1 try again later"
    messenger = await _open(store_dir, clock, server.transport(), max_attempts=3)
    try:
        (message_id,) = await _queue(messenger, 1)
        for _ in range(3):
            await messenger.send_due()
            clock.advance(timedelta(hours=3))
        assert (await messenger.send_due()).outcomes == ()
        message = await messenger.get(message_id)
        assert (message.status, message.attempts) == (S.FAILED, 3)
        last = (await messenger.send_log(message_id))[-1]
        assert "gave up after 3 attempts" in (last.error or "")
    finally:
        await messenger.aclose()


async def test_r27_one_failing_message_in_a_batch_affects_only_itself(store_dir, clock, server):
    poison: set[str] = set()
    messenger = await _open(store_dir, clock, _Wrapped(server.transport(), _poison(poison)))
    try:
        ids = await _queue(messenger, 10)
        poison.add(ids[0])
        report = await messenger.send_due(batch=10)  # does not raise
        assert report.deferred == (ids[0],)
        assert sorted(report.sent) == sorted(ids[1:])
        for message_id in ids[1:]:
            (attempt,) = await messenger.send_log(message_id)
            assert attempt.outcome is S.SENT
        assert (await messenger.send_due()).outcomes == ()  # nothing left claimed
    finally:
        await messenger.aclose()
    assert sorted(_copies(server).values()) == [1] * 9


# -- idempotency, expiry, size ----------------------------------------------------------------


async def test_r24_the_same_idempotency_key_twice_gives_one_message(store_dir, clock, server):
    first = await _open(store_dir, clock, server.transport())
    second = await _open(store_dir, clock, server.transport())  # another "process"
    try:
        made = [
            await m.compose_email(JANA, to="a@example.com", subject="S", text="T",
                                  scheduled_at=clock.now(), idempotency_key="order-7/confirm")
            for m in (first, second, first)
        ]  # fmt: skip
        assert len({m.id for m in made}) == 1
        assert len((await first.send_due()).sent) == 1
    finally:
        await first.aclose()
        await second.aclose()
    assert len(server.messages) == 1


async def test_r25_a_message_past_expires_at_expires_and_is_not_sent_late(outbox, server, clock):
    (message_id,) = await _queue(outbox, 1, expires_at=clock.now() + timedelta(minutes=5))
    clock.advance(timedelta(minutes=6))
    assert (await outbox.send_due()).expired == (message_id,)
    assert (await outbox.get(message_id)).status is S.EXPIRED
    assert server.messages == []


async def test_r28_over_the_size_limit_fails_before_data_without_loading_the_attachment(
    store_dir, clock
):
    # The server's SIZE is learnt at send: the check there comes from metadata, before DATA.
    with LocalSMTPServer(size_limit=50_000) as small:
        messenger = await _open(store_dir, clock, small.transport())
        reads: list[str] = []
        blobs = messenger.ports.blobs
        real_get = blobs.get

        async def counting_get(scope: str, key: str, /) -> bytes:
            reads.append(key)
            return await real_get(scope, key)

        blobs.get = counting_get  # type: ignore[method-assign]
        try:
            message = await messenger.compose_email(
                JANA, to="a@example.com", subject="S", text="T",
                attachments=[Attachment.from_bytes("big.pdf", bytes(60_000))],
                scheduled_at=clock.now(),
            )  # fmt: skip
            assert (await messenger.send_due()).failed == (message.id,)
            (attempt,) = await messenger.send_log(message.id)
            assert attempt.recipients[0].code == 552
            assert "over the limit of 50,000" in (attempt.error or "")
            assert reads == []  # refused from metadata, before any content was read
        finally:
            await messenger.aclose()
        assert small.messages == []


async def test_r28_over_the_configured_size_limit_is_refused_when_composed(store_dir, clock):
    with LocalSMTPServer() as server:
        messenger = await _open(store_dir, clock, server.transport(max_message_size=50_000))
        try:
            with pytest.raises(LimitExceeded) as info:
                await messenger.compose_email(
                    JANA, to="a@example.com", subject="S", text="T",
                    attachments=[Attachment.from_bytes("big.pdf", bytes(60_000))],
                    scheduled_at=clock.now(),
                )  # fmt: skip
            assert info.value.limit == 50_000
            assert (await messenger.send_due()).attempts == ()
        finally:
            await messenger.aclose()
        assert server.messages == []
