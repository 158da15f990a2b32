"""A helper process for benchmarks/send.py, on an embedded store whose master key is in
``CONTOS_MESSAGING_MASTER_KEY``. Prints one line of JSON when done.

    python benchmarks/_send_worker.py compose STORE --count N [--attachment-bytes B]
        queue N e-mails (each with one attachment of B distinct bytes when B > 0)
    python benchmarks/_send_worker.py send STORE --port P --ca-file F [--batch 100]
            [--lease SECONDS] [--connections 4] [--max-message-size BYTES] [--wait]
        run send_due until nothing is due, over STARTTLS + AUTH to 127.0.0.1:P; with --wait,
        print "ready" once the store is open and start at the next line on stdin (so that
        several workers start together, and start-up is not timed)

Warnings and errors the library logs are counted (reported in the JSON line, each kind printed
once to stderr, without its traceback). ``send`` reports its own peak RSS: ``ru_maxrss`` and,
as a check, ``VmHWM`` (the peak of this process's memory alone; ``ru_maxrss`` also holds what
the parent had when it started us).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

from contos_messaging import Actor, AsyncMessenger, Attachment, Limits, MessengerSettings
from contos_messaging.adapters.smtp import SMTPTransport
from contos_messaging.testing import RecordingEmailTransport
from contos_messaging.testing.smtp import LocalSMTPServer

BODY = "Dobrý den,\nv příloze posíláme vyúčtování provizí za listopad 2026.\n" * 20
SENDER = "info@contos.example.com"


class _Counted(logging.Handler):
    """Counts the library's warnings and errors by kind; prints the first of each kind."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        kind = f"{record.name}: {record.msg}"
        self.counts[kind] += 1
        if self.counts[kind] == 1:
            cause = f" ({record.exc_info[1]})" if record.exc_info and record.exc_info[1] else ""
            print(f"[{WORKER_NAME} {os.getpid()}] {record.levelname} {record.name}: "
                  f"{record.getMessage()}{cause} (counted, not repeated)",
                  file=sys.stderr)  # fmt: skip


LOGGED = _Counted()
WORKER_NAME = Path(__file__).name


def _master_key() -> str:
    return os.environ["CONTOS_MESSAGING_MASTER_KEY"]


def _peaks() -> dict[str, float]:
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    hwm = None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    return {"ru_maxrss_mb": maxrss, "vm_hwm_mb": hwm if hwm is not None else maxrss}


async def _compose(store: Path, count: int, attachment_bytes: int) -> dict[str, object]:
    # The memory run composes 25 MiB attachments: over the default limits, raised here (the
    # composing messenger sends nothing; the sending one has the SMTP transport's limit).
    settings = MessengerSettings(
        company_sender=SENDER, limits=Limits(attachments_bytes=64 * 1024 * 1024)
    )
    messenger = await AsyncMessenger.open(
        store, master_key=_master_key(), settings=settings,
        email_transport=RecordingEmailTransport(max_message_size=None),
    )  # fmt: skip
    actor = Actor.system()
    now = messenger.ports.clock.now()
    base = os.urandom(attachment_bytes) if attachment_bytes else b""
    start = time.perf_counter()
    for i in range(count):
        attachments = []
        if attachment_bytes:  # distinct content for each message: no blob is shared
            data = i.to_bytes(8, "big") + base[8:]
            attachments.append(Attachment.from_bytes(f"vyuctovani-{i}.pdf", data))
            del data
        await messenger.compose_email(actor, to=f"klient{i}@example.com",
                                      subject=f"Vyúčtování provizí {i}", text=BODY,
                                      attachments=attachments, scheduled_at=now)  # fmt: skip
        del attachments
    elapsed = time.perf_counter() - start
    await messenger.aclose()
    return {"composed": count, "elapsed": elapsed, "logged": dict(LOGGED.counts)}


async def _send(args: argparse.Namespace) -> dict[str, object]:
    transport = SMTPTransport(
        "127.0.0.1", args.port, username=LocalSMTPServer.USERNAME,
        password=LocalSMTPServer.PASSWORD, ca_file=args.ca_file, connections=args.connections,
        **({"max_message_size": args.max_message_size} if args.max_message_size else {}),
    )  # fmt: skip
    messenger = await AsyncMessenger.open(
        args.store, master_key=_master_key(), company_sender=SENDER, email_transport=transport
    )
    at_start = _peaks()
    if args.wait:
        print("ready", flush=True)
        sys.stdin.readline()
    start = time.perf_counter()
    report = await messenger.send_due(batch=args.batch, lease=timedelta(seconds=args.lease))
    elapsed = time.perf_counter() - start
    await messenger.aclose()
    statuses = collections.Counter(str(o.status) for o in report.outcomes)
    skipped = collections.Counter(str(reason) for reason in report.skipped.values())
    return {
        "sent": len(report.sent),
        "outcomes": len(report.outcomes),
        "statuses": dict(statuses),
        "skipped": dict(skipped),
        "error": None if report.error is None else str(report.error),
        "elapsed": elapsed,
        **_peaks(),
        "at_start": at_start,
        "logged": dict(LOGGED.counts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["compose", "send"])
    parser.add_argument("store", type=Path)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--attachment-bytes", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ca-file", default=None)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--lease", type=float, default=300.0, help="seconds")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--max-message-size", type=int, default=None)
    parser.add_argument("--wait", action="store_true")
    args = parser.parse_args()
    library = logging.getLogger("contos_messaging")
    library.addHandler(LOGGED)
    library.propagate = False
    if args.mode == "compose":
        result = asyncio.run(_compose(args.store, args.count, args.attachment_bytes))
    else:
        result = asyncio.run(_send(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
