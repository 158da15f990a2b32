"""Crash safety and concurrency on the real store, with real subprocesses."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from contos_messaging import AsyncMessenger, LinkedEntity
from tests.integration.conftest import MASTER_KEY, worker_env

WORKER = Path(__file__).with_name("_store_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=worker_env(),
        cwd=ROOT,
    )


def _wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "ready", line + (process.stderr.read() if process.stderr else "")


async def _line(process: subprocess.Popen[str]) -> str:
    """The next line the process writes ("" once it has exited), read off the event loop."""
    assert process.stdout is not None
    return await asyncio.to_thread(process.stdout.readline)


async def _kill_at_step(process: subprocess.Popen[str], step: int) -> tuple[str, bool]:
    """Read the process's step lines and SIGKILL it right after the ``step``-th; it goes on
    working meanwhile, so the kill lands somewhere in the step after. Returns everything it
    wrote and whether it was killed (False: it finished first)."""
    lines: list[str] = []
    while len(lines) < step and (line := await _line(process)):
        lines.append(line)
    killed = len(lines) == step
    if killed:
        process.send_signal(signal.SIGKILL)
    out, _err = process.communicate(timeout=60)
    return "".join(lines) + out, killed and process.returncode == -signal.SIGKILL


def _committed(output: str) -> list[str]:
    ids: list[str] = []
    for line in output.splitlines():
        if line.startswith("committed "):
            ids += line.split()[1:]
    return ids


async def _open(store: Path) -> AsyncMessenger:
    return await AsyncMessenger.open(
        store, master_key=MASTER_KEY, company_sender="info@contos.example.com"
    )


async def test_sigkill_during_bulk_writes_loses_no_committed_message(tmp_path):
    """Kill a 5,000-message bulk write at random steps, three times; after each kill every
    message reported committed is readable, the search index holds what the store holds,
    verify() is clean and no row refers to missing content; gc() then removes only
    unreferenced attachments."""
    store = tmp_path / "store"
    rng = random.Random(20261128)
    committed: list[str] = []
    kills = 0
    for _round in range(3):
        process = _start("bulk", str(store), "5000", "100")
        _wait_ready(process)
        # A batch of 100 writes 10 attachments ("put"), then "adding", then "committed": kill
        # right after a step of the first 30 batches of 50 (between attachments and rows, in
        # a transaction, with index updates in flight), so the writer cannot finish first.
        out, killed = await _kill_at_step(process, rng.randint(1, 30 * 12))
        kills += killed
        committed += _committed(out)

        messenger = await _open(store)  # catches the search index up with the store
        try:
            found = await messenger.ports.repository.get_many(committed)
            assert [m.id for m in found] == committed
            # Index updates were in flight at the kill: the index holds exactly the store.
            stored_ids = set(await messenger.ports.repository.message_ids(limit=100_000))
            assert await messenger.ports.search.ids() == stored_ids
            report = await messenger.verify()
            assert report.ok, report.problems
            stored = set(await messenger.ports.blobs.list_objects())
            referenced = await messenger.ports.repository.referenced_blobs()
            assert referenced <= stored
            for scope, key in list(referenced)[:20]:
                assert (await messenger.ports.blobs.get(scope, key)).startswith(b"%PDF")
        finally:
            await messenger.aclose()
    assert kills == 3, "the writer finished before it could be killed; raise the count"
    assert committed, "nothing was committed before the kills"

    messenger = await _open(store)
    try:
        await messenger.ports.blobs.put("C-1", "f" * 64, b"orphan")
        stored_before = set(await messenger.ports.blobs.list_objects())
        referenced = await messenger.ports.repository.referenced_blobs()
        result = await messenger.gc(grace=timedelta(0))
        assert result.removed_objects == len(stored_before - referenced) >= 1
        assert set(await messenger.ports.blobs.list_objects()) == referenced
        assert (await messenger.verify()).ok
    finally:
        await messenger.aclose()


async def test_two_processes_write_one_store_without_lock_errors(tmp_path):
    store = tmp_path / "store"
    messenger = await _open(store)  # create the store first, as an installation would
    await messenger.aclose()
    writers = [_start("compose", str(store), "150", tag) for tag in ("alpha", "beta")]
    outputs = [w.communicate(timeout=120) for w in writers]
    for writer, (_out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "locked" not in err
    messenger = await _open(store)
    try:
        for tag, (out, _err) in zip(("alpha", "beta"), outputs, strict=True):
            ids = _committed(out)
            assert len(ids) == 150
            page = await messenger.history(LinkedEntity.client(f"C-{tag}"), limit=1000)
            assert {m.id for m in page.items} == set(ids)
    finally:
        await messenger.aclose()


async def test_a_reader_and_a_writer_process_run_side_by_side(tmp_path):
    """Reads in this process while another process writes never raise 'database is locked',
    and each read sees every message the writer has reported committed."""
    store = tmp_path / "store"
    messenger = await _open(store)
    try:
        writer = _start("compose", str(store), "200", "gamma")
        _wait_ready(writer)
        reported = 0
        while line := await _line(writer):  # one read per commit, as the writer goes on
            reported += line.startswith("committed ")
            page = await messenger.history(LinkedEntity.client("C-gamma"), limit=5)
            assert page.total >= reported
        _out, err = writer.communicate()
        assert writer.returncode == 0, err
        assert reported == 200
        assert (await messenger.history(LinkedEntity.client("C-gamma"))).total == 200
    finally:
        await messenger.aclose()
    assert os.path.exists(store / "messages.sqlite")


async def _queue(store: Path, count: int) -> list[str]:
    from contos_messaging import Actor

    messenger = await _open(store)
    try:
        now = messenger.ports.clock.now()
        return [
            (await messenger.compose_email(Actor.system(), to=f"k{i}@example.com",
                                           subject=f"S{i}", text="T", scheduled_at=now)).id
            for i in range(count)
        ]  # fmt: skip
    finally:
        await messenger.aclose()


async def test_killed_outbox_workers_lose_nothing_and_only_in_flight_mail_goes_twice(tmp_path):
    """A send_due worker is killed at random points of a 500-message run and restarted; every
    message ends SENT, none is lost, and only messages in flight at a kill (one claimed batch,
    10) may reach the server twice, with the same Message-ID. Each worker's clock runs 2 s
    (two leases) further ahead than the one before, so the dead worker's leases have expired
    for the next one without the test waiting for them."""
    from contos_messaging import MessageStatus
    from contos_messaging.testing.smtp import LocalSMTPServer

    store = tmp_path / "store"
    ids = await _queue(store, 500)
    rng = random.Random(7)
    kills = 0
    with LocalSMTPServer() as server:
        for round_ in range(30):
            ahead = str(2.0 * round_)
            worker = _start("outbox", str(store), str(server.port), str(server.ca_file), ahead)
            _wait_ready(worker)
            if kills < 3:
                # "progress" after each batch of 10 sent: kill during one of the first 8 of 50
                # batches (the next batch is claimed and in flight), so none runs out first.
                _out, killed = await _kill_at_step(worker, rng.randint(1, 8))
                kills += killed
                continue
            _out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            break
        received = [m.message["Message-ID"] for m in server.messages]
    messenger = await _open(store)
    try:
        messages = await messenger.ports.repository.get_many(ids)
        assert {m.status for m in messages} == {MessageStatus.SENT}
    finally:
        await messenger.aclose()
    headers = {m.message_id_header for m in messages}
    assert set(received) == headers  # nothing lost
    duplicates = len(received) - len(set(received))
    assert kills == 3
    assert duplicates <= kills * 10


async def test_two_outbox_worker_processes_send_each_message_once(tmp_path):
    from contos_messaging.testing.smtp import LocalSMTPServer

    store = tmp_path / "store"
    ids = await _queue(store, 200)
    with LocalSMTPServer() as server:
        workers = [_start("outbox", str(store), str(server.port), str(server.ca_file))
                   for _ in range(2)]  # fmt: skip
        outputs = [w.communicate(timeout=120) for w in workers]
        for worker, (_out, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err
        received = [m.message["Subject"] for m in server.messages]
    assert sorted(received) == sorted(f"S{i}" for i in range(200))
    per_worker = [len(_sent(out)) for out, _err in outputs]
    assert sum(per_worker) == len(ids)  # each message sent by exactly one of the two


def _sent(output: str) -> list[str]:
    ids: list[str] = []
    for line in output.splitlines():
        if line.startswith("sent "):
            ids += line.split()[1:]
    return ids
