"""Quickstart: templates, linked records, the encrypted store, history, bulk and sending.

Run with the first command of README.md. It uses the real embedded store (SQLite metadata,
sealed content, per-client keys) in a temporary directory and renders templates in the
sandboxed render workers, searches the Tantivy index, and sends through a real local SMTP
server (aiosmtpd over STARTTLS with AUTH, its own certificate) with the SMTP transport. SMS goes
to a recording transport until the SMS gateway adapters land.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import tempfile
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
from contos_messaging.testing import (
    InMemoryAddressBook,
    InMemoryContextProvider,
    RecordingSmsTransport,
)
from contos_messaging.testing.smtp import LocalSMTPServer

COMPANY = "ContOS s.r.o. <info@contos.example.com>"
CONFIRMATION = """<p>{{ client.last_name|salutation }},</p>
<p>děkujeme za objednávku č. {{ order.number }} ze dne {{ order.date|date_cz }}
v hodnotě {{ order.total|money }}
({{ order.item_count|plural("položka", "položky", "položek") }}).</p>
<p>S pozdravem<br>{{ company.name }}</p>"""


def main() -> int:
    """Templates and records in, sealed messages stored, reopened, listed, sent, verified."""
    client = LinkedEntity.client("C-1001")
    order = LinkedEntity.order("O-2026-0815")
    clerk = Actor("jana.dvorakova", permissions={Permission.COMPOSE, Permission.SEND})
    admin = Actor("admin", permissions={Permission.MANAGE_TEMPLATES})

    # The host's records: in ContOS these come from its database.
    book, records = InMemoryAddressBook(), InMemoryContextProvider()
    book.add(client, Contact("Jan Novák", email="jan.novak@example.com", phone="601 123 456"))
    records.add(client, {"first_name": "Jan", "last_name": "Novák"})
    records.add(order, {"number": "O-2026-0815", "date": dt.date(2026, 11, 28),
                        "total": 12450.5, "item_count": 3})  # fmt: skip
    targets = []
    for n in range(1, 6):
        other, other_order = LinkedEntity.client(f"C-20{n}"), LinkedEntity.order(f"O-{n}")
        book.add(other, Contact(f"Klient {n}", email=f"klient{n}@example.com"))
        records.add(other, {"last_name": "Dvořáková" if n % 2 else "Svoboda"})
        records.add(other_order, {"number": f"O-{n}", "date": "2026-11-27", "total": 990 * n,
                                  "item_count": n})  # fmt: skip
        targets.append(BulkTarget(links=[other, other_order]))

    # In production the master key comes from CONTOS_MESSAGING_MASTER_KEY or a key file.
    master_key = base64.b64encode(os.urandom(32)).decode()

    with tempfile.TemporaryDirectory(prefix="contos-quickstart-") as directory:
        store = Path(directory) / "store"
        with Messenger.open(store, master_key=master_key, company_sender=COMPANY,
                            address_book=book, context=records) as messenger:  # fmt: skip
            messenger.templates.save(admin, "order-confirmation", html=CONFIRMATION,
                                     subject="Potvrzení objednávky {{ order.number }}")  # fmt: skip
            messenger.templates.save(
                admin, "order-ready", channel=Channel.SMS,
                text="Objednávka {{ order.number }} je připravena.",
            )  # fmt: skip

            # Variables come from the linked records, the recipient from the client's
            # address-book entry (no `to`).
            confirmation = messenger.compose_from_template(
                clerk, "order-confirmation", links=[client, order]
            )
            to = ", ".join(confirmation.recipients.envelope)
            print(f"from a template: {confirmation.subject!r} to {to}")
            print("  " + confirmation.body_text.replace("\n", "\n  "))
            statement = messenger.compose_email(
                clerk,
                to='"Novák, Jan" <jan.novak@example.com>; účetní <ucetni@example.com>',
                subject="Vyúčtování provizí za listopad 2026",
                text="Dobrý den,\nv příloze posíláme vyúčtování provizí.",
                links=[client, LinkedEntity.statement("V-2026-11")],
            )
            reminder = messenger.compose_from_template(clerk, "order-ready", links=[client, order])
            attached = messenger.compose_email(
                clerk, links=[client], subject="Smlouva k podpisu", text="V příloze.",
                attachments=[Attachment.from_bytes("Smlouva O-2026-0815.pdf", b"%PDF-1.7 ...")],
            )  # fmt: skip
            bulk = messenger.generate_bulk(clerk, "order-confirmation", targets)
            print(f"bulk: {len(bulk.created)} of {bulk.total} queued, {len(bulk.failures)} failed")
        ids = [confirmation.id, statement.id, reminder.id, attached.id]

        on_disk = b"".join(p.read_bytes() for p in store.rglob("*") if p.is_file())
        in_clear = any(
            secret.encode() in on_disk
            for secret in ("ucetni@example.com", "+420601123456", "Smlouva O-2026-0815.pdf")
        )
        print(f"stored in {store}: addresses, numbers or file names in clear: {in_clear}")

        with LocalSMTPServer() as smtp, Messenger.open(
            store, master_key=master_key, company_sender=COMPANY,
            email_transport=smtp.transport(), sms_transport=RecordingSmsTransport(),
        ) as messenger:  # fmt: skip
            page = messenger.history(client)
            print(f"history of {client}: {page.total} message(s), newest first")
            for message in page:
                print(f"  {message.created_at:%Y-%m-%d %H:%M}  {message.channel:5}"
                      f"  {message.status:8}  {message.subject or message.text}")  # fmt: skip

            found = messenger.search("novak potvrzeni")  # diacritics and case do not matter
            print(f"search 'novak potvrzeni': {found.total} hit(s)")
            for hit in found.hits:
                print(f"  {hit.message.subject or hit.message.text}  |  {hit.snippet[:70]}")

            report = messenger.send(clerk, ids)
            print(f"sent {len(report.sent)} of {len(ids)}; failed {len(report.failed)}")
            for message_id in report.sent:
                attempt = messenger.send_log(message_id)[-1]
                print(f"  {message_id}  by {attempt.actor_id} via {attempt.transport}"
                      f" to {', '.join(attempt.accepted)}")  # fmt: skip
            print(f"the SMTP server accepted {len(smtp.messages)} e-mail(s):")
            for received in smtp.messages:
                print(f"  {received.message['Subject']}  ->  {', '.join(received.recipients)}")
            verified = messenger.verify()
            print(f"verify: {verified.checked} sealed objects, {len(verified.problems)} bad")
            statuses = {messenger.get(i).status for i in ids}

        ok = (statuses == {MessageStatus.SENT} and page.total == 4 and not in_clear
              and verified.ok and len(bulk.created) == 5 and found.total == 1
              and len(smtp.messages) == 3)  # fmt: skip
        print("quickstart OK" if ok else f"quickstart FAILED: {statuses}")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
