"""Quickstart: the whole job of the library, on the real embedded adapters, in under a minute.

Run with the first command of README.md. In a temporary directory it creates a store and its
master key file, saves Czech templates (an order confirmation e-mail with its PDF, a settlement
statement e-mail, an SMS reminder), fills an address book of demo clients with their orders,
contracts, statements and commission-contract amendments, and generates 1,000 messages in
bulk for the outbox, each linked to its records. It starts a real local SMTP server (aiosmtpd
over STARTTLS with AUTH, its own certificate) and a local SMS gateway (an HTTP server
answering as GoSMS.cz does, reached with the HTTP gateway transport), lets the outbox send
everything with progress, records the gateway's delivery reports, then prints one client's
history, searches in Czech without diacritics, exports one message as .eml and prints the
send log of one message. Content is sealed (zstd + AES-256-GCM per client), templates render
in sandboxed worker processes, search runs on the Tantivy index.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import os
import tempfile
import time
from pathlib import Path

from contos_messaging import (
    Actor,
    Attachment,
    BulkTarget,
    Channel,
    Contact,
    LinkedEntity,
    MessageStatus,
    Messenger,
    Permission,
)
from contos_messaging.testing import InMemoryAddressBook, InMemoryContextProvider
from contos_messaging.testing.sms_gateway import LocalSmsGateway
from contos_messaging.testing.smtp import LocalSMTPServer

COMPANY = "ContOS s.r.o. <info@contos.example.com>"
CLIENTS = 200
SURNAMES = ["Novák", "Svobodová", "Dvořák", "Černá", "Procházka", "Kučerová", "Veselý", "Horáková"]
CONFIRMATION = """<p>{{ client.last_name|salutation }},</p>
<p>děkujeme za objednávku č. {{ order.number }} ze dne {{ order.date|date_cz }}
v hodnotě {{ order.total|money }}
({{ order.item_count|plural("položka", "položky", "položek") }}).
Potvrzení objednávky najdete v příloze.</p>
<p>S pozdravem<br>{{ company.name }}</p>"""
STATEMENT = """{{ client.last_name|salutation }},

posíláme vyúčtování provizí č. {{ statement.number }} za období {{ statement.period }}
ke smlouvě {{ contract.number }}: k výplatě {{ statement.amount|money }}.

S pozdravem
{{ company.name }}"""
REMINDER = "Připomínka: dodatek {{ amendment.number }} ke smlouvě čeká na Váš podpis. ContOS"


def _records() -> tuple[InMemoryAddressBook, InMemoryContextProvider, list[list[BulkTarget]]]:
    """The host's records (in ContOS: its database), and the bulk targets of each template:
    order confirmations with each order's PDF, statements, SMS reminders of amendments."""
    book, records = InMemoryAddressBook(), InMemoryContextProvider()
    confirmations, statements, reminders = [], [], []
    for n in range(1, CLIENTS + 1):
        client = LinkedEntity.client(f"C-{1000 + n}")
        surname = SURNAMES[n % len(SURNAMES)]
        book.add(client, Contact(f"{surname} {n}", email=f"klient{n}@example.com",
                                 phone=f"+420 601 20{n:04d}"))  # fmt: skip
        records.add(client, {"last_name": surname})
        contract = LinkedEntity.contract(f"KS-{n:04d}")
        records.add(contract, {"number": f"KS-{n:04d}"})
        for month in (9, 10, 11):
            statement = LinkedEntity.statement(f"V-2026-{month}-{n:04d}")
            period, amount = f"{month}/2026", 1250 + 37 * n
            records.add(statement, {"number": statement.id, "period": period, "amount": amount})
            statements.append(BulkTarget(links=[client, contract, statement]))
        order = LinkedEntity.order(f"O-2026-{n:04d}")
        records.add(order, {"number": f"O-2026-{n:04d}", "date": dt.date(2026, 11, 28),
                            "total": 990.5 * n, "item_count": n % 7 + 1})  # fmt: skip
        pdf = Attachment.from_bytes(f"Objednavka O-2026-{n:04d}.pdf", b"%PDF-1.7 " * 200)
        confirmations.append(BulkTarget(links=[client, order], attachments=[pdf]))
        amendment = LinkedEntity.amendment(f"D-{n:04d}")
        records.add(amendment, {"number": f"D-{n:04d}"})
        reminders.append(BulkTarget(links=[client, contract, amendment]))
    return book, records, [confirmations, statements, reminders]


def main() -> int:
    started = time.monotonic()
    clerk = Actor("jana.dvorakova", permissions={Permission.COMPOSE, Permission.SEND})
    admin = Actor("admin", permissions={Permission.MANAGE_TEMPLATES})
    book, records, targets = _records()
    with tempfile.TemporaryDirectory(prefix="contos-quickstart-") as directory:
        # 1. A store and its master key (in production: a key file of the operator's, or
        # CONTOS_MESSAGING_MASTER_KEY_FILE; `contos-messaging init` makes both).
        key_file = Path(directory) / "master.key"
        key_file.write_text(base64.b64encode(os.urandom(32)).decode())
        key_file.chmod(0o600)
        store = Path(directory) / "store"
        with LocalSMTPServer() as smtp, LocalSmsGateway() as gateway, Messenger.open(
            store, master_key=key_file.read_text(), company_sender=COMPANY,
            address_book=book, context=records,
            email_transport=smtp.transport(), sms_transport=gateway.transport(),
        ) as messenger:  # fmt: skip
            print(f"store {store}, key {key_file.name}; SMTP on port {smtp.port} (STARTTLS,"
                  f" AUTH), SMS gateway {gateway.url}")  # fmt: skip

            # 2. Templates (versioned, rendered in the sandbox with Czech filters).
            messenger.templates.save(admin, "potvrzeni-objednavky", html=CONFIRMATION,
                                     subject="Potvrzení objednávky {{ order.number }}")  # fmt: skip
            messenger.templates.save(
                admin, "vyuctovani", text=STATEMENT,
                subject="Vyúčtování provizí {{ statement.period }}",
            )  # fmt: skip
            messenger.templates.save(admin, "pripominka-dodatku", channel=Channel.SMS,
                                     text=REMINDER)  # fmt: skip

            # 3. 1,000 messages for the outbox, in a few seconds: the recipient and the
            # variables come from the linked records.
            due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
            created = 0
            for name, chosen in zip(
                ["potvrzeni-objednavky", "vyuctovani", "pripominka-dodatku"], targets,
                strict=True,
            ):  # fmt: skip
                report = messenger.generate_bulk(clerk, name, chosen, scheduled_at=due)
                created += len(report.created)
                print(f"bulk {name}: {len(report.created)} of {report.total} queued for"
                      f" {due:%H:%M:%S}, {len(report.failures)} failed")  # fmt: skip

            # 4. The outbox sends them once they are due, with progress.
            time.sleep(max(0.0, (due - dt.datetime.now(dt.UTC)).total_seconds()))

            def progress(sent: int, attempted: int) -> None:
                if attempted % 250 == 0:
                    print(f"  outbox: {sent:,} sent of {attempted:,} tried", flush=True)

            sent = messenger.send_due(progress=progress)
            print(f"outbox: {len(sent.sent)} sent, {len(sent.failed)} failed;"
                  f" the SMTP server got {len(smtp.messages)} e-mails, the gateway"
                  f" {len(gateway.messages)} SMS")  # fmt: skip
            for receipt in gateway.receipts():  # the provider's status callback, in a host
                messenger.record_delivery(receipt)
            delivered = messenger.status_counts(channel="sms")[MessageStatus.DELIVERED]
            print(f"delivery reports: {delivered} SMS delivered")

            # 5. One client's history: everything linked to the client, newest first.
            client = LinkedEntity.client("C-1002")
            page = messenger.history(client)
            print(f"history of {client}: {page.total} messages")
            for message in page:
                print(f"  {message.channel:5} {message.status:9}"
                      f" {message.subject or message.text}")  # fmt: skip

            # 6. Search in Czech, without diacritics (the index folds them; prefixes match
            # inflected forms).
            searches = {}
            for text in ('"vyuctovani provizi 10/2026"', "dodatek podpis", "potvrzeni O-2026-0002"):
                found = messenger.search(text, limit=3)
                searches[text] = found.total
                first = found.hits[0].message
                print(f"search {text!r}: {found.total} hits, e.g. {first.subject or first.text!r}")

            # 7. One message as .eml (what a mail client opens), and its send log.
            (confirmation,) = messenger.messages(template="potvrzeni-objednavky", linked=client)
            eml = Path(directory) / "potvrzeni.eml"
            eml.write_bytes(messenger.export_eml(confirmation.id))
            parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
            files = [part.get_filename() for part in parsed.iter_attachments()]
            print(f"exported {eml.name}: {eml.stat().st_size:,} bytes, {parsed['Subject']!r},"
                  f" attachments {files}")  # fmt: skip
            for attempt in messenger.send_log(confirmation.id):
                print(f"send log: {attempt.finished_at:%H:%M:%S} {attempt.kind} by"
                      f" {attempt.actor_id} (queued by {attempt.queued_by}) via"
                      f" {attempt.transport} from {attempt.worker}: {attempt.outcome},"
                      f" accepted {', '.join(attempt.accepted)}")  # fmt: skip
            verified = messenger.verify()
            print(f"verify: {verified.checked:,} sealed objects, {len(verified.problems)} bad")

        on_disk = b"".join(p.read_bytes() for p in store.rglob("*") if p.is_file())
        in_clear = [s for s in ("klient2@example.com", "601200002", "Objednavka O-2026")
                    if s.encode() in on_disk]  # fmt: skip
        print(f"addresses, numbers or file names readable on disk: {in_clear or 'none'}")
    seconds = time.monotonic() - started
    ok = (created == 1000 and len(sent.sent) == 1000 and len(smtp.messages) == 800
          and len(gateway.messages) == 200 and delivered == 200 and page.total == 5
          and all(searches.values()) and files == ["Objednavka O-2026-0002.pdf"]
          and verified.ok and not in_clear)  # fmt: skip
    print(f"quickstart {'OK' if ok else 'FAILED'} in {seconds:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
