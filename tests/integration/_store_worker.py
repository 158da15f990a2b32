"""Subprocess helper for the store tests: writes messages into an embedded store.

    python _store_worker.py bulk DIR COUNT BATCH   # ports directly, batches, prints committed ids
    python _store_worker.py compose DIR COUNT TAG  # one compose per message through the facade
    python _store_worker.py outbox DIR PORT CA [AHEAD]  # send_due until nothing is due
    python _store_worker.py erasure DIR CLIENT ORDER  # compose, wait for "go" on stdin, retry
    python _store_worker.py erase DIR CLIENT -     # erase_client, print "erased COUNT"

The master key comes from CONTOS_MESSAGING_MASTER_KEY. Prints "ready" once the store is open,
then a line at each step (``put``, ``adding``, ``committed``, ``progress``, ``sent``), so a
test can kill the process at a step it chose instead of after a guessed time. The outbox
worker's clock runs AHEAD seconds ahead of the system clock, so a worker started after a killed
one finds the dead worker's leases expired without anybody waiting for them to expire.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from datetime import UTC, datetime, timedelta

from contos_messaging import (
    Actor,
    AsyncMessenger,
    EmailRecipients,
    LinkedEntity,
    Message,
    MessagingError,
    parse_address,
)
from contos_messaging.domain.attachment import Attachment


async def bulk(path: str, count: int, batch: int) -> None:
    messenger = await AsyncMessenger.open(path, company_sender="info@contos.example.com")
    ports = messenger.ports
    sender = parse_address("ContOS <info@contos.example.com>")
    print("ready", flush=True)
    for start in range(0, count, batch):
        messages = []
        for i in range(start, min(count, start + batch)):
            client = f"C-{i % 50}"
            attachments = []
            if i % 10 == 0:
                data = f"%PDF-1.7 faktura {i} ".encode() * 200
                attachment = Attachment.from_bytes(f"faktura-{i}.pdf", data)
                await ports.blobs.put(client, attachment.sha256, data)
                print(f"put {attachment.sha256}", flush=True)
                attachments.append(attachment.metadata_only())
            messages.append(
                Message.email(
                    sender=sender,
                    recipients=EmailRecipients.parse(f"klient{i}@example.com"),
                    subject=f"Vyúčtování {i}",
                    html=f"<p>Dobrý den, zpráva číslo {i}.</p>",
                    attachments=attachments,
                    links=[LinkedEntity.client(client), LinkedEntity.order(f"O-{i}")],
                    created_by="worker",
                    created_at=datetime.now(UTC),
                )
            )
        print(f"adding {len(messages)}", flush=True)
        await ports.repository.add(messages)
        print("committed " + " ".join(m.id for m in messages), flush=True)
    await messenger.aclose()


async def compose(path: str, count: int, tag: str) -> None:
    messenger = await AsyncMessenger.open(path, company_sender="info@contos.example.com")
    print("ready", flush=True)
    actor = Actor.system()
    for i in range(count):
        message = await messenger.compose_email(
            actor,
            to=f"{tag}{i}@example.com",
            subject=f"{tag} {i}",
            text=hashlib.sha256(f"{tag}{i}".encode()).hexdigest(),
            links=[LinkedEntity.client(f"C-{tag}")],
        )
        print("committed " + message.id, flush=True)
    await messenger.aclose()


async def erasure(path: str, client: str, order: str) -> None:
    """Compose and read a message for ``client`` (its key is then cached in this process),
    print ``composed ID``, wait for ``go`` on stdin (another process erases the client
    meanwhile), then read it again, list ``order`` and compose for ``client`` again, printing
    what each step gave."""
    messenger = await AsyncMessenger.open(path, company_sender="info@contos.example.com")
    print("ready", flush=True)
    actor = Actor.system()
    links = [LinkedEntity.client(client), LinkedEntity.order(order)]
    first = await messenger.compose_email(
        actor, to="b@example.com", subject=f"{client} before", text="before", links=links
    )
    await messenger.get(first.id)
    await messenger.history(LinkedEntity.order(order))
    print("composed " + first.id, flush=True)
    assert sys.stdin.readline().strip() == "go"
    try:
        await messenger.get(first.id)
        print("get opened", flush=True)
    except MessagingError as exc:
        print(f"get {type(exc).__name__} {exc}", flush=True)
    page = await messenger.history(LinkedEntity.order(order))
    print(f"history erased={page.erased} " + " ".join(m.id for m in page), flush=True)
    try:
        again = await messenger.compose_email(
            actor, to="b@example.com", subject=f"{client} after", text="after", links=links
        )
        print("compose committed " + again.id, flush=True)
    except MessagingError as exc:
        print(f"compose {type(exc).__name__} {exc}", flush=True)
    await messenger.aclose()


async def erase(path: str, client: str) -> None:
    """Erase ``client`` (another process writes the search index) and print how many messages
    went."""
    messenger = await AsyncMessenger.open(path, company_sender="info@contos.example.com")
    try:
        erased = await messenger.erase_client(Actor.system(), client)
        print(f"erased {len(erased)}", flush=True)
    finally:
        await messenger.aclose()


class AheadClock:
    """The system clock, ``seconds`` ahead of it."""

    def __init__(self, seconds: float) -> None:
        self._ahead = timedelta(seconds=seconds)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._ahead

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


async def outbox(path: str, port: int, ca_file: str, ahead: float = 0.0) -> None:
    from contos_messaging.adapters.smtp import SMTPTransport

    transport = SMTPTransport("127.0.0.1", port, username="contos", password="secret",
                              ca_file=ca_file)  # fmt: skip
    messenger = await AsyncMessenger.open(
        path, company_sender="info@contos.example.com", email_transport=transport,
        clock=AheadClock(ahead),
    )  # fmt: skip
    print("ready", flush=True)

    def progress(sent: int, attempted: int) -> None:
        print(f"progress {sent}", flush=True)

    while True:
        report = await messenger.send_due(batch=10, lease=timedelta(seconds=1), progress=progress)
        if report.sent:
            print("sent " + " ".join(report.sent), flush=True)
        if not report.attempts and not report.not_attempted:
            break
    await messenger.aclose()


def watch(path: str, port: int, ca_file: str) -> None:
    """The blocking facade in the main thread, in watch mode: stops on SIGTERM."""
    from contos_messaging import Messenger
    from contos_messaging.adapters.smtp import SMTPTransport

    transport = SMTPTransport("127.0.0.1", port, username="contos", password="secret",
                              ca_file=ca_file)  # fmt: skip
    with Messenger.open(path, company_sender="info@contos.example.com",
                        email_transport=transport) as messenger:  # fmt: skip
        print("ready", flush=True)
        report = messenger.send_due(
            batch=5, lease=timedelta(minutes=5), watch=True, poll=0.05,
            progress=lambda sent, attempted: print(f"progress {sent}", flush=True),
        )  # fmt: skip
        print(f"stopped {len(report.sent)}", flush=True)


if __name__ == "__main__":
    mode, directory, number, extra = sys.argv[1:5]
    if mode == "watch":
        watch(directory, int(number), extra)
    elif mode == "outbox":
        ahead = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
        asyncio.run(outbox(directory, int(number), extra, ahead))
    elif mode == "erase":
        asyncio.run(erase(directory, number))
    elif mode == "erasure":
        asyncio.run(erasure(directory, number, extra))
    elif mode == "bulk":
        asyncio.run(bulk(directory, int(number), int(extra)))
    else:
        asyncio.run(compose(directory, int(number), extra))
