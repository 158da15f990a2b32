"""The local SMSC of the SMPP tests and benchmark: ``tests/peers/smpp/server.js`` (the ``smpp``
npm package, an implementation independent of ours) run as a subprocess.

:func:`start_peer` installs its node modules once (``npm ci`` from the committed lock file,
under a file lock so that concurrent test processes do not race), starts it on a free port,
waits for its ``listening`` line and kills it on exit. :class:`SmppPeer` reads its JSON lines
(``events``), waits for one (:meth:`SmppPeer.wait_for`) and sends it commands
(:meth:`SmppPeer.command`); see the server's header for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contos_messaging import LinkedEntity
from contos_messaging.adapters.smpp import SmppTransport
from contos_messaging.domain.message import Message
from contos_messaging.domain.phones import SmsRecipients, parse_phone_list

PEER_DIR = Path(__file__).resolve().parents[1] / "peers" / "smpp"
SYSTEM_ID, PASSWORD = "contos", "secret"
WAIT = 20.0  # (a safety net for a peer that never answers, not a pace)
MOBILE = "+420601123456"
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

Event = dict[str, Any]


def install_peer() -> Path:
    """``npm ci`` in the peer's directory unless its modules are there; returns node's path."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError("the SMPP tests need node and npm on PATH (node 18 or later)")
    if (PEER_DIR / "node_modules" / "smpp" / "package.json").is_file():
        return Path(node)
    with open(PEER_DIR / ".npm-ci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (PEER_DIR / "node_modules" / "smpp" / "package.json").is_file():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=PEER_DIR, check=True, capture_output=True, timeout=300,
            )  # fmt: skip
    return Path(node)


class SmppPeer:
    """A running peer: ``port``, the ``events`` it printed so far, and its commands."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            event = json.loads(line)
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    def of(self, kind: str) -> list[Event]:
        """The events of ``kind`` so far."""
        return [e for e in self.events if e["event"] == kind]

    async def wait_for(
        self, kind: str, where: Callable[[Event], bool] = lambda e: True, *, count: int = 1
    ) -> list[Event]:
        """Wait until the peer printed ``count`` events of ``kind`` that satisfy ``where``;
        returns them."""

        def matching() -> list[Event]:
            return [e for e in self.of(kind) if where(e)]

        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: len(matching()) >= count)
        return matching()[:count]

    async def command(self, line: str) -> None:
        """Send a command and wait until the peer ran it."""
        assert self.process.stdin is not None
        done = len(self.of("done"))
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        await self.wait_for("done", count=done + 1)

    async def stats(self) -> Event:
        """The peer's counters now (submits, held, max_outstanding, binds, sessions...)."""
        before = len(self.of("stats"))
        await self.command("stats")
        return self.of("stats")[before]

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


@contextlib.asynccontextmanager
async def start_peer(
    *,
    latency_ms: int = 0,
    receipts: bool = True,
    quiet: bool = False,
    receipt_delay_ms: int = 5,
    tls: tuple[Path, Path] | None = None,
) -> AsyncIterator[SmppPeer]:
    """Run the peer (system_id ``contos``, password ``secret``) until the block ends; with
    ``tls`` (certificate and key files) over TLS."""
    node = install_peer()
    arguments = [str(PEER_DIR / "server.js"), "--port", "0", "--system-id", SYSTEM_ID,
                 "--password", PASSWORD, "--latency-ms", str(latency_ms),
                 "--receipt-delay-ms", str(receipt_delay_ms)]  # fmt: skip
    if not receipts:
        arguments.append("--no-receipts")
    if quiet:
        arguments.append("--quiet")
    if tls is not None:
        arguments += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
    process = await asyncio.create_subprocess_exec(
        str(node), *arguments, cwd=PEER_DIR,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        async with asyncio.timeout(WAIT):
            first = json.loads(await process.stdout.readline())
        assert first["event"] == "listening", first
        peer = SmppPeer(process, int(first["port"]))
        peer.start_reading()
    except BaseException:
        process.kill()
        await process.wait()
        raise
    try:
        yield peer
    finally:
        await peer.stop()


@pytest.fixture(name="smpp_peer")
async def smpp_peer_fixture() -> AsyncIterator[SmppPeer]:
    """``smpp_peer``: a fresh peer for one test (import ``smpp_peer_fixture`` to use it)."""
    async with start_peer() as peer:
        yield peer


def sms_message(text: str = "Objednavka je pripravena.", to: str = MOBILE) -> Message:
    """An SMS from ContOS to ``to`` (numbers separated by commas), linked to client C-1."""
    return Message.sms(
        sender="ContOS",
        recipients=SmsRecipients(parse_phone_list(to)),
        text=text,
        links=(LinkedEntity.client("C-1"),),
        created_by="jana",
        created_at=T0,
        message_id_domain="contos.example.com",
    )


def peer_transport(peer: SmppPeer, **options: Any) -> SmppTransport:
    """An :class:`SmppTransport` bound (on first use) to ``peer`` with its credentials."""
    options.setdefault("system_id", SYSTEM_ID)
    options.setdefault("password", PASSWORD)
    return SmppTransport("127.0.0.1", peer.port, **options)
