"""Sending benchmark: queued e-mails to a local aiosmtpd sink over STARTTLS + AUTH.

Ours: ``AsyncMessenger.send_due`` on the embedded store (claims under leases, MIME at send
time, SMTP over the transport's reused connections, per-recipient outcomes, send log and status
committed). The server runs in a process of its own. Baselines in the same run, against the same
server: ``smtplib`` with a new connection (STARTTLS + AUTH) per message, and ``smtplib`` over one
reused connection (TCP_NODELAY set, or the benchmark would measure Nagle's algorithm). Prints
msg/s and ratios, then one JSON line.

    python benchmarks/send.py [--quick] [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from contos_messaging import Actor, AsyncMessenger
from contos_messaging.adapters.smtp import SMTPTransport
from contos_messaging.testing_smtp import LocalSMTPServer

BODY = "Dobrý den,\nv příloze posíláme vyúčtování provizí za listopad 2026.\n" * 20


def _mime(i: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "ContOS <info@contos.example.com>"
    msg["To"] = f"klient{i}@example.com"
    msg["Subject"] = f"Vyúčtování provizí {i}"
    msg.set_content(BODY)
    return msg


class _Sink:
    """The SMTP server, in its own process so that it does not compete for our GIL."""

    USERNAME = LocalSMTPServer.USERNAME
    PASSWORD = LocalSMTPServer.PASSWORD

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_smtp_sink.py"))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self._process.stdout is not None
        port, ca_file = self._process.stdout.readline().split()
        self.port, self.ca_file = int(port), ca_file

    def transport(self) -> SMTPTransport:
        return SMTPTransport("127.0.0.1", self.port, username=self.USERNAME,
                             password=self.PASSWORD, ca_file=self.ca_file)  # fmt: skip

    def received(self) -> int:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write("count\n")
        self._process.stdin.flush()
        return int(self._process.stdout.readline())

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 messages instead of 2,000")
    parser.add_argument("--messages", type=int, default=None)
    args = parser.parse_args()
    count = args.messages or (300 if args.quick else 2_000)
    server = _Sink()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-send-") as d:
            new_connection = _smtplib(server, count, reuse=False)
            reused = _smtplib(server, count, reuse=True)
            ours = asyncio.run(_ours(server, count, Path(d) / "store"))
        received = server.received()
    finally:
        server.close()
    assert received == 3 * count, received
    print(f"sending benchmark, {count:,} e-mails over STARTTLS + AUTH to a local aiosmtpd")
    print(f"{'smtplib, new connection per message':40}{new_connection:>10,.0f} msg/s")
    print(f"{'smtplib, one reused connection':40}{reused:>10,.0f} msg/s")
    print(f"{'ours: send_due with bookkeeping':40}{ours:>10,.0f} msg/s")
    ratios = {"vs_new_connection": ours / new_connection, "vs_reused": ours / reused}
    print(f"ratios: {ratios['vs_new_connection']:.2f}x new-connection baseline, "
          f"{ratios['vs_reused']:.2f}x reused-connection baseline")  # fmt: skip
    targets = {"3x_new_connection": ratios["vs_new_connection"] >= 3,
               "1x_reused": ratios["vs_reused"] >= 1.0}  # fmt: skip
    print("targets met:", ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in targets.items()))
    print(json.dumps({"benchmark": "send", "messages": count, "smtplib_new_connection_per_s":
                      new_connection, "smtplib_reused_per_s": reused, "ours_per_s": ours,
                      "ratios": ratios, "targets_met": targets}))  # fmt: skip


if __name__ == "__main__":
    main()
