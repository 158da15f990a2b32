"""Erasure across processes: two real processes on one store directory. Process B holds a
client's key in its caches (it composed and read a message for the client); process A erases
the client; B, let go by a line on its stdin, must neither open nor write anything of the client
again, and reads of an order linked to the erased client and to another one return the other."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from contos_messaging import Actor, AsyncMessenger, LinkedEntity, Message, SkipReason
from contos_messaging.testing import RecordingEmailTransport
from tests.integration.conftest import MASTER_KEY, worker_env

WORKER = Path(__file__).with_name("_store_worker.py")
ROOT = Path(__file__).resolve().parents[2]
ORDER = LinkedEntity.order("O-1")


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[AsyncMessenger]:
    """Process A's messenger on a new store."""
    messenger = await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, company_sender="info@contos.example.com"
    )
    try:
        yield messenger
    finally:
        await messenger.aclose()


class ProcessB:
    """The worker process: composes for C-9 linked to O-1, then waits for ``go``."""

    def __init__(self, directory: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), "erasure", str(directory), "C-9", "O-1"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=worker_env(),
            cwd=ROOT,
        )
        assert self._line() == "ready", self._fail()
        composed = self._line()
        assert composed.startswith("composed "), composed + self._fail()
        self.message_id = composed.split()[1]

    def _line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def _fail(self) -> str:
        self.process.kill()
        return self.process.communicate(timeout=60)[1]

    def go(self) -> dict[str, str]:
        """Let B go on; returns its report: ``{"get": ..., "history": ..., "compose": ...}``."""
        out, err = self.process.communicate("go\n", timeout=120)
        assert self.process.returncode == 0, err
        return dict(line.split(" ", 1) for line in out.splitlines())


async def _other_clients_message(store: AsyncMessenger) -> Message:
    return await store.compose_email(
        Actor.system(),
        to="c8@example.com",
        subject="C-8 healthy",
        text="healthy",
        links=[LinkedEntity.client("C-8"), ORDER],
    )


async def test_a_process_holding_an_erased_clients_key_cannot_write_for_it(store, tmp_path):
    """After A's erase_client("C-9"), B (its C-9 key cached) gets KeyUnavailable saying the
    client was erased when it composes for C-9, nothing of C-9 is stored, and the order's
    history shows the other client's message in both processes."""
    healthy = await _other_clients_message(store)
    b = ProcessB(tmp_path / "store")
    erased = await store.erase_client(Actor.system(), "C-9")
    assert erased == (b.message_id,)

    report = b.go()

    assert report["compose"].startswith("KeyUnavailable "), report
    assert "the client was erased" in report["compose"]
    assert not report["get"].startswith("opened"), report
    assert report["history"] == f"erased=0 {healthy.id}"
    assert (await store.history(LinkedEntity.client("C-9"))).total == 0
    page = await store.history(ORDER)
    assert [m.id for m in page] == [healthy.id]
    assert (page.total, page.erased, page.has_more) == (1, 0, False)


async def test_reads_of_an_order_skip_the_erased_client_and_return_the_other(store, tmp_path):
    """An erasure stopped after its first step (A destroyed C-9's keys, C-9's rows are still
    there): B never opens C-9's message with the key it cached, and history(O-1) in A and in
    B returns the other client's message with the erased one counted, instead of raising
    KeyUnavailable for the whole page; finishing the erasure removes the row."""
    healthy = await _other_clients_message(store)
    b = ProcessB(tmp_path / "store")
    await store.ports.keys.destroy("C-9")  # erase_client's first step; then "a crash"

    report = b.go()

    assert report["get"].startswith("KeyUnavailable "), report
    assert "the client was erased" in report["get"]
    assert report["history"] == f"erased=1 {healthy.id}"
    assert report["compose"].startswith("KeyUnavailable "), report
    page = await store.history(ORDER)
    assert [m.id for m in page] == [healthy.id]
    assert (page.total, page.erased, page.has_more) == (2, 1, False)
    first = await store.history(ORDER, limit=1)  # newest first: C-9's message alone
    assert (first.items, first.erased, first.has_more) == ((), 1, True)
    second = await store.history(ORDER, limit=1, offset=first.offset + len(first) + first.erased)
    assert [m.id for m in second] == [healthy.id]
    assert not second.has_more

    assert await store.erase_client(Actor.system(), "C-9") == (b.message_id,)
    page = await store.history(ORDER)
    assert [m.id for m in page] == [healthy.id]
    assert (page.total, page.erased) == (1, 0)


async def test_search_skips_the_erased_clients_match_and_returns_the_other(store):
    """Both clients' messages match; C-9's keys are destroyed (erase_client's first step, the
    index still holds its document): the search page returns C-8's hit and counts the erased
    one instead of raising KeyUnavailable."""
    healthy = await _other_clients_message(store)
    erased = await store.compose_email(
        Actor.system(), to="c9@example.com", subject="C-9 healthy", text="healthy",
        links=[LinkedEntity.client("C-9"), ORDER],
    )  # fmt: skip
    assert len(await store.search("healthy")) == 2
    await store.ports.keys.destroy("C-9")

    page = await store.search("healthy")

    assert [hit.message.id for hit in page.hits] == [healthy.id]
    assert (page.total, page.erased, page.has_more) == (2, 1, False)
    assert erased.id in await store.erase_client(Actor.system(), "C-9")
    page = await store.search("healthy")
    assert ([hit.message.id for hit in page.hits], page.total, page.erased) == ([healthy.id], 1, 0)


async def test_reindex_goes_past_the_rows_of_an_erased_client(store):
    """After an erasure stopped after its first step, reindex() rebuilds the index from the
    other clients' messages (the erased client's rows are skipped, not opened) instead of
    raising KeyUnavailable."""
    healthy = await _other_clients_message(store)
    for i in range(3):
        await store.compose_email(
            Actor.system(), to="c9@example.com", subject=f"C-9 {i}", text="healthy",
            links=[LinkedEntity.client("C-9"), ORDER],
        )  # fmt: skip
    await store.ports.keys.destroy("C-9")

    assert await store.reindex() == 1
    page = await store.search("healthy")
    assert ([hit.message.id for hit in page.hits], page.total, page.erased) == ([healthy.id], 1, 0)
    assert [m.id for m in await store.ports.repository.scan(limit=2)] == [healthy.id]
    assert await store.ports.repository.scan(after=healthy.id, limit=2) == []


async def test_no_order_of_erasure_checks_lets_a_cached_key_through(tmp_path):
    """Two key-store handles on one keys.sqlite (as two processes have): whatever marks a
    caller passes to erased_since, handle B never hands out a key it cached before handle A
    erased the scope."""
    from contos_messaging.adapters.sqlite import SQLiteKeyStore
    from contos_messaging.errors import KeyUnavailable

    path = tmp_path / "keys.sqlite"
    master = bytes(range(32))
    a = await SQLiteKeyStore.open(path, master)
    b = await SQLiteKeyStore.open(path, master)
    try:
        cached = {scope: (await b.current(scope))[0] for scope in ("C-1", "C-2", "C-3", "C-4")}
        await a.destroy("C-1")
        await b.current("C-5")  # B has seen the first erasure
        await a.destroy("C-2")
        await a.destroy("C-3")
        lagging, _ = await b.erased_since(0)  # a caller that had seen nothing yet
        await a.destroy("C-4")
        await b.erased_since(lagging)
        for scope, key_id in cached.items():
            with pytest.raises(KeyUnavailable, match="erased"):
                await b.get(scope, key_id)
            with pytest.raises(KeyUnavailable, match="erased"):
                await b.current(scope)
    finally:
        await a.aclose()
        await b.aclose()


async def test_the_outbox_goes_past_queued_messages_of_an_erased_client(tmp_path):
    """After an erasure stopped after its first step (the key destroyed, the rows still on
    disk), due messages of the erased client are never claimed and the others are sent: the
    outbox is not stuck on them."""
    store = await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, company_sender="info@contos.example.com",
        email_transport=RecordingEmailTransport(),
    )  # fmt: skip
    try:
        now = store.ports.clock.now()
        erased_ids = []
        for i in range(3):
            message = await store.compose_email(
                Actor.system(), to="c9@example.com", subject=f"C-9 {i}", text="t",
                links=[LinkedEntity.client("C-9")], scheduled_at=now,
            )  # fmt: skip
            erased_ids.append(message.id)
        healthy = await store.compose_email(
            Actor.system(), to="c8@example.com", subject="C-8", text="t",
            links=[LinkedEntity.client("C-8")], scheduled_at=now,
        )  # fmt: skip
        await store.ports.keys.destroy("C-9")

        report = await store.send_due(batch=2)
        assert [a.message_id for a in report.attempts] == [healthy.id]
        assert (await store.get(healthy.id)).status.value == "sent"
        assert (await store.send_due()).attempts == ()
        # Chosen by id, an erased client's message is not found; the others are sent.
        other = await store.compose_email(
            Actor.system(), to="c8@example.com", subject="C-8 again", text="t",
            links=[LinkedEntity.client("C-8")],
        )  # fmt: skip
        erased = erased_ids[0]
        chosen = await store.send(Actor.system(), [erased, other.id])
        assert chosen.outcome(erased).skipped is SkipReason.NOT_FOUND
        assert chosen.outcome(other.id).status.value == "sent"
    finally:
        await store.aclose()
