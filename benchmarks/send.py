"""Sending benchmark: queued e-mails to a local aiosmtpd sink over STARTTLS + AUTH.

Ours: ``AsyncMessenger.send_due`` on the embedded store (claims under leases, MIME at send
time, SMTP over the transport's reused connections, per-recipient outcomes, send log and status
committed). The server runs in a process of its own. Baselines in the same run, against the same
server: ``smtplib`` with a new connection (STARTTLS + AUTH) per message, and ``smtplib`` over one
reused connection (TCP_NODELAY set, or the benchmark would measure Nagle's algorithm).

Two more scenarios, each with a server of its own:

* slow server: the server answers each DATA after 50 ms; two worker processes each run
  ``send_due(batch=10, lease=2 s)`` until nothing is due, on one shared store of 1,000 queued
  e-mails (200 with --quick). Prints msg/s and how many Message-IDs the server received more
  than once (must be 0).
* memory: a child process sends 50 e-mails (8 with --quick), each with one attachment of
  25 MiB, over 4 connections with ``send_due``; prints its peak RSS (``ru_maxrss``; target
  under 350 MB). The e-mails are composed in another process first, so the figure is that of
  sending. It runs first, while this process is small: a child's ``ru_maxrss`` starts at its
  parent's peak.

Prints msg/s, ratios and targets, then one JSON line holding every figure; exits with status 1
after it if the slow-server scenario saw a duplicate or left an e-mail unsent.

    python benchmarks/send.py [--quick] [--messages N] [--slow-messages N] [--memory-messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from contos_messaging import Actor, AsyncMessenger
from contos_messaging.adapters.smtp import SMTPTransport
from contos_messaging.testing.smtp import LocalSMTPServer

WORKER = Path(__file__).with_name("_send_worker.py")
SLOW_DATA_DELAY = 0.05  # seconds before the slow server answers each DATA
SLOW_WORKERS = 2
SLOW_BATCH = 10
SLOW_LEASE = 2.0  # seconds
ATTACHMENT_BYTES = 25 * 1024 * 1024
MEMORY_CONNECTIONS = 4
MEMORY_SIZE_LIMIT = 64 * 1024 * 1024  # above a 25 MiB attachment in base64 (~36 MB)
RSS_TARGET_MB = 350

BODY = "Dobrý den,\nv příloze posíláme vyúčtování provizí za listopad 2026.\n" * 20


def _mime(i: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "ContOS <info@contos.example.com>"
    msg["To"] = f"klient{i}@example.com"
    msg["Subject"] = f"Vyúčtování provizí {i}"
    msg.set_content(BODY)
    return msg


class _Sink:
    """The SMTP server, in its own process so that it does not compete for our GIL
    (``options`` go to ``_smtp_sink.py``: ``--data-delay``, ``--size-limit``)."""

    USERNAME = LocalSMTPServer.USERNAME
    PASSWORD = LocalSMTPServer.PASSWORD

    def __init__(self, *options: str) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_smtp_sink.py")), *options],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self._process.stdout is not None
        port, ca_file = self._process.stdout.readline().split()
        self.port, self.ca_file = int(port), ca_file

    def transport(self) -> SMTPTransport:
        return SMTPTransport("127.0.0.1", self.port, username=self.USERNAME,
                             password=self.PASSWORD, ca_file=self.ca_file)  # fmt: skip

    def _ask(self, command: str) -> str:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._process.stdout.readline().strip()

    def received(self) -> int:
        return int(self._ask("count"))

    def stats(self) -> dict[str, int]:
        """messages, message_ids, duplicated_ids, extra_copies, without_id."""
        stats: dict[str, int] = json.loads(self._ask("stats"))
        return stats

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(10)


def _smtplib(server: _Sink, count: int, *, reuse: bool) -> float:
    context = ssl.create_default_context(cafile=str(server.ca_file))

    def connect() -> smtplib.SMTP:
        smtp = smtplib.SMTP("127.0.0.1", server.port, timeout=30)
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        smtp.starttls(context=context)
        smtp.login(server.USERNAME, server.PASSWORD)
        return smtp

    start = time.perf_counter()
    smtp = connect() if reuse else None
    for i in range(count):
        if smtp is None:
            with connect() as single:
                single.send_message(_mime(i))
        else:
            smtp.send_message(_mime(i))
    if smtp is not None:
        smtp.quit()
    return count / (time.perf_counter() - start)


async def _ours(server: _Sink, count: int, root: Path) -> float:
    messenger = await AsyncMessenger.open(
        root,
        master_key=base64.b64encode(os.urandom(32)).decode(),
        company_sender="ContOS <info@contos.example.com>",
        email_transport=server.transport(),
    )
    actor = Actor.system()
    now = messenger.ports.clock.now()
    for i in range(count):
        await messenger.compose_email(actor, to=f"klient{i}@example.com",
                                      subject=f"Vyúčtování provizí {i}", text=BODY,
                                      scheduled_at=now)  # fmt: skip
    start = time.perf_counter()
    report = await messenger.send_due()
    elapsed = time.perf_counter() - start
    assert len(report.sent) == count, (len(report.sent), report.error)
    await messenger.aclose()
    return count / elapsed


def _worker(env: dict[str, str], *args: object, wait: bool = False) -> subprocess.Popen[str]:
    command = [sys.executable, str(WORKER), *map(str, args), *(["--wait"] if wait else [])]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip


def _result(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The JSON line a worker prints when done (and its exit, which must be clean)."""
    assert process.stdout is not None
    line = process.stdout.readline()
    if process.wait(60) != 0 or not line:
        raise RuntimeError(f"{WORKER.name} failed with status {process.returncode}")
    result: dict[str, Any] = json.loads(line)
    return result


def _merged(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: collections.Counter[str] = collections.Counter()
    for one in counts:
        total.update(one)
    return dict(total)


def _logged(counts: dict[str, int]) -> None:
    """Print what the library logged in a worker (warnings and errors, by kind)."""
    for kind, n in counts.items():
        print(f"  logged {n:,}x by the workers: {kind}")


def _compose(env: dict[str, str], store: Path, count: int, attachment_bytes: int = 0) -> None:
    process = _worker(env, "compose", store, "--count", count,
                      "--attachment-bytes", attachment_bytes)  # fmt: skip
    assert process.stdin is not None
    process.stdin.close()
    assert _result(process)["composed"] == count


def _slow_server(env: dict[str, str], count: int, store: Path) -> dict[str, Any]:
    """Two worker processes draining one store through a server that answers DATA late."""
    _compose(env, store, count)
    server = _Sink("--data-delay", str(SLOW_DATA_DELAY))
    workers: list[subprocess.Popen[str]] = []
    try:
        for _ in range(SLOW_WORKERS):
            workers.append(_worker(env, "send", store, "--port", server.port, "--ca-file",
                                   server.ca_file, "--batch", SLOW_BATCH, "--lease", SLOW_LEASE,
                                   wait=True))  # fmt: skip
        for worker in workers:  # all open, connected to nothing yet: start them together
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                raise RuntimeError(f"{WORKER.name} did not start")
        start = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.close()
        results = [_result(worker) for worker in workers]
        elapsed = time.perf_counter() - start
        stats = server.stats()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        server.close()
    sent = sum(r["sent"] for r in results)
    return {
        "messages": count, "data_delay_s": SLOW_DATA_DELAY, "workers": SLOW_WORKERS,
        "batch": SLOW_BATCH, "lease_s": SLOW_LEASE, "elapsed_s": elapsed,
        "per_s": count / elapsed, "sent": sent, "unsent": count - sent,
        "sent_by_worker": [r["sent"] for r in results],
        "skipped": [r["skipped"] for r in results], "received": stats["messages"],
        "duplicates": stats["duplicated_ids"], "extra_copies": stats["extra_copies"],
        "logged": _merged(r["logged"] for r in results),
    }  # fmt: skip


def _memory(env: dict[str, str], count: int, store: Path) -> dict[str, Any]:
    """Peak RSS of a process that sends ``count`` e-mails with a 25 MiB attachment each."""
    start = time.perf_counter()
    _compose(env, store, count, ATTACHMENT_BYTES)
    composing = time.perf_counter() - start
    server = _Sink("--size-limit", str(MEMORY_SIZE_LIMIT))
    process = None
    try:
        process = _worker(env, "send", store, "--port", server.port, "--ca-file",
                          server.ca_file, "--connections", MEMORY_CONNECTIONS,
                          "--max-message-size", MEMORY_SIZE_LIMIT)  # fmt: skip
        assert process.stdin is not None
        process.stdin.close()
        result = _result(process)
        stats = server.stats()
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        server.close()
    assert result["sent"] == count, result
    assert stats["messages"] == count, stats
    inherited = max(0.0, result["at_start"]["ru_maxrss_mb"] - result["at_start"]["vm_hwm_mb"])
    return {
        "messages": count, "attachment_bytes": ATTACHMENT_BYTES,
        "connections": MEMORY_CONNECTIONS, "peak_rss_mb": result["ru_maxrss_mb"],
        "vm_hwm_mb": result["vm_hwm_mb"], "inherited_mb": inherited,
        "rss_before_sending_mb": result["at_start"]["vm_hwm_mb"], "target_mb": RSS_TARGET_MB,
        "sending_s": result["elapsed"], "per_s": count / result["elapsed"],
        "composing_s": composing, "received": stats["messages"], "logged": result["logged"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="300 / 200 / 8 messages instead of 2,000 / 1,000 / 50")  # fmt: skip
    parser.add_argument("--messages", type=int, default=None, help="for ours and the baselines")
    parser.add_argument("--slow-messages", type=int, default=None, help="slow-server scenario")
    parser.add_argument("--memory-messages", type=int, default=None, help="memory scenario")
    args = parser.parse_args()
    count = args.messages or (300 if args.quick else 2_000)
    slow_count = args.slow_messages or (200 if args.quick else 1_000)
    memory_count = args.memory_messages or (8 if args.quick else 50)
    env = {**os.environ, "CONTOS_MESSAGING_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    with tempfile.TemporaryDirectory(prefix="bench-send-") as d:
        # First, while this process is small: a child's ru_maxrss starts at its parent's peak.
        memory = _memory(env, memory_count, Path(d) / "memory")
        shutil.rmtree(Path(d) / "memory")
        server = _Sink()
        try:
            new_connection = _smtplib(server, count, reuse=False)
            reused = _smtplib(server, count, reuse=True)
            ours = asyncio.run(_ours(server, count, Path(d) / "store"))
            received = server.received()
        finally:
            server.close()
        slow = _slow_server(env, slow_count, Path(d) / "slow")
    assert received == 3 * count, received
    print(f"sending benchmark, {count:,} e-mails over STARTTLS + AUTH to a local aiosmtpd")
    print(f"{'smtplib, new connection per message':40}{new_connection:>10,.0f} msg/s")
    print(f"{'smtplib, one reused connection':40}{reused:>10,.0f} msg/s")
    print(f"{'ours: send_due with bookkeeping':40}{ours:>10,.0f} msg/s")
    ratios = {"vs_new_connection": ours / new_connection, "vs_reused": ours / reused}
    print(f"ratios: {ratios['vs_new_connection']:.2f}x new-connection baseline, "
          f"{ratios['vs_reused']:.2f}x reused-connection baseline")  # fmt: skip
    print(f"target: ours >= 1.5x the reused-connection smtplib loop: {ratios['vs_reused']:.2f}x, "
          f"{'met' if ratios['vs_reused'] >= 1.5 else 'NOT MET'}")  # fmt: skip
    print()
    print(f"slow server: DATA answered after {SLOW_DATA_DELAY * 1000:.0f} ms, {slow_count:,} "
          f"e-mails on one store, {SLOW_WORKERS} worker processes each running "
          f"send_due(batch={SLOW_BATCH}, lease={SLOW_LEASE:g} s)")  # fmt: skip
    print(f"{f'ours: {SLOW_WORKERS} worker processes':40}{slow['per_s']:>10,.0f} msg/s"
          f"   (sent by each: {', '.join(map(str, slow['sent_by_worker']))})")  # fmt: skip
    print(f"{'duplicates seen by the server':40}{slow['duplicates']:>10}       "
          f"({'OK' if slow['duplicates'] == 0 else 'WRONG'}: must be 0; "
          f"{slow['received']:,} messages received)")  # fmt: skip
    if slow["extra_copies"]:
        print(f"  {slow['extra_copies']:,} copies beyond the first of those Message-IDs")
    if slow["unsent"]:
        print(f"  WRONG: {slow['unsent']:,} e-mails not sent; skipped: {slow['skipped']}")
    _logged(slow["logged"])
    print()
    print(f"memory: {memory_count} e-mails with one {ATTACHMENT_BYTES // 2**20} MiB attachment "
          f"each, send_due over {MEMORY_CONNECTIONS} connections in a child process")  # fmt: skip
    print(f"{'peak RSS of the sending process':40}{memory['peak_rss_mb']:>10,.0f} MB"
          f"    (target < {RSS_TARGET_MB} MB: "
          f"{'met' if memory['peak_rss_mb'] < RSS_TARGET_MB else 'NOT MET'}; "
          f"{memory['rss_before_sending_mb']:.0f} MB before sending, "
          f"{memory['per_s']:.1f} msg/s)")  # fmt: skip
    if memory["inherited_mb"] > 1:
        print(f"  ru_maxrss holds {memory['inherited_mb']:.0f} MB inherited from this process; "
              f"the sending process's own peak (VmHWM) is {memory['vm_hwm_mb']:.0f} MB"
              )  # fmt: skip
    _logged(memory["logged"])
    targets = {"3x_new_connection": ratios["vs_new_connection"] >= 3,
               "1.5x_reused": ratios["vs_reused"] >= 1.5,
               "no_duplicates": slow["duplicates"] == 0 and not slow["unsent"],
               f"rss_under_{RSS_TARGET_MB}mb": memory["peak_rss_mb"] < RSS_TARGET_MB}  # fmt: skip
    print("targets met:", ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in targets.items()))
    print(json.dumps({"benchmark": "send", "messages": count, "smtplib_new_connection_per_s":
                      new_connection, "smtplib_reused_per_s": reused, "ours_per_s": ours,
                      "ratios": ratios, "slow_server": slow, "memory": memory,
                      "targets_met": targets}))  # fmt: skip
    if slow["duplicates"] or slow["unsent"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
