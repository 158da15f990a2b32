"""The communication window, as a host builds it on the public API: pick a recipient from the
address book, compose from an order with its PDF, check a file's size before adding it, list,
filter and count for the tabs, search, generate a bulk run as drafts, review and queue it,
send through a real local SMTP server (STARTTLS and AUTH), export a message as .eml, download
an attachment and read the audit trail.

Run it with ``python examples/communication_window.py``; it works in a temporary directory.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import os
import tempfile
from pathlib import Path

from contos_messaging import (
    Actor,
    Attachment,
    BulkTarget,
    Contact,
    EmailRecipients,
    LinkedEntity,
    MessageQuery,
    MessageStatus,
    Messenger,
    Permission,
)
from contos_messaging.testing import InMemoryAddressBook, InMemoryContextProvider
from contos_messaging.testing.smtp import LocalSMTPServer

COMPANY = "ContOS s.r.o. <info@contos.example.com>"
CLERK = Actor(
    "jana.dvorakova",
    permissions={Permission.COMPOSE, Permission.SEND, Permission.EDIT, Permission.CANCEL},
)
ADMIN = Actor("admin", permissions={Permission.MANAGE_TEMPLATES})


def _records() -> tuple[InMemoryAddressBook, InMemoryContextProvider, list[LinkedEntity]]:
    """The host's records: in ContOS they come from its database."""
    book, records = InMemoryAddressBook(), InMemoryContextProvider()
    clients = []
    for n, (name, mail) in enumerate(
        [("Jan Novák", "jan.novak"), ("Eva Dvořáková", "eva.dvorakova"), ("Petr Svoboda", "psv")],
        start=1,
    ):
        client, order = LinkedEntity.client(f"C-{n}"), LinkedEntity.order(f"O-2026-{n:04d}")
        book.add(client, Contact(name, email=f"{mail}@example.com", phone=f"60{n} 123 456"))
        book.own(order, client)  # whose the order is: messages about it reach the client
        records.add(client, {"name": name, "last_name": name.split()[-1]})
        records.add(order, {"number": order.id, "total": 1250.0 * n})
        clients.append(client)
    return book, records, clients


def main() -> int:
    """Walk through the window's tasks; ``communication window OK`` at the end."""
    book, records, clients = _records()
    key = base64.b64encode(os.urandom(32)).decode()
    with tempfile.TemporaryDirectory() as directory, LocalSMTPServer() as server:
        with Messenger.open(
            Path(directory) / "store", master_key=key, company_sender=COMPANY,
            email_transport=server.transport(), address_book=book, context=records,
        ) as messenger:  # fmt: skip
            messenger.templates.save(
                ADMIN, "potvrzeni-objednavky", subject="Potvrzení objednávky {{ order.number }}",
                html="<p>{{ client.last_name|salutation }},</p><p>objednávka {{ order.number }}"
                " za {{ order.total|money }} je potvrzena.</p><script>tracker()</script>",
            )  # fmt: skip
            messenger.templates.save(
                ADMIN, "vyuctovani", subject="Vyúčtování za listopad",
                text="Dobrý den, v příloze je Vaše vyúčtování provizí za listopad.",
            )  # fmt: skip

            # The detail window: pick a recipient, compose from the order with its PDF.
            picked = messenger.lookup_contacts("dvor")
            print("address book:", [f"{c.name} <{c.email}>" for _e, c in picked])
            order = LinkedEntity.order("O-2026-0001")
            pdf = Attachment.from_bytes("potvrzeni-O-2026-0001.pdf", b"%PDF-1.7 " * 2000)
            confirmation = messenger.compose_from_template(
                CLERK, "potvrzeni-objednavky", links=[order], attachments=[pdf]
            )
            assert isinstance(confirmation.recipients, EmailRecipients)
            print("composed for", confirmation.recipients.to[0], "linked", confirmation.links)
            assert "<script>" not in (confirmation.html or "")  # sanitised

            # A file dropped on the window: does it fit before it is uploaded?
            big = messenger.email_size(confirmation.id, adding=[30 * 1024 * 1024])
            room = messenger.email_size(confirmation.id).room
            print(f"a 30 MB file fits: {big.fits}; the largest that does: {room:,} bytes")
            extra = Attachment.from_bytes("obchodni-podminky.pdf", b"%PDF-1.7 podminky " * 500)
            kept = list(confirmation.attachments)
            messenger.edit(CLERK, confirmation.id, attachments=[*kept, extra])

            # A bulk run for review: drafts, each client with its own statement.
            targets = [
                BulkTarget(
                    links=[client],
                    attachments=[Attachment.from_bytes(f"vypis-{client.id}.pdf", b"%PDF " * 900)],
                )
                for client in clients
            ]
            run = messenger.generate_bulk(CLERK, "vyuctovani", targets, status="draft")
            print(f"bulk: {len(run.created)} drafts, {len(run.failures)} failures")

            # The list window: filters, tabs, search.
            tabs = messenger.status_counts()
            print("tabs:", {s.value: n for s, n in tabs.items() if n})
            drafts = messenger.messages(status=["draft"], template="vyuctovani", order="oldest")
            print("drafts to review:", [str(m.recipients.envelope[0]) for m in drafts])
            found = messenger.search("vyuctovani provizi", status="draft")
            print("search 'vyuctovani provizi':", found.total, "found")

            # Review, then send: one draft corrected, the run queued for tomorrow 8:00 ...
            messenger.edit(CLERK, drafts.items[0].id, subject="Vyúčtování za listopad (opraveno)")
            tomorrow = dt.datetime.now(dt.UTC).replace(hour=8, minute=0) + dt.timedelta(days=1)
            queued = messenger.queue(CLERK, MessageQuery(template="vyuctovani"),
                                     scheduled_at=tomorrow)  # fmt: skip
            print(f"queued {len(queued.queued)} for {tomorrow:%d. %m. %Y %H:%M}")
            # ... and the confirmation sent now ("tick several and send").
            report = messenger.send(CLERK, [confirmation.id])
            print("sent:", [str(o.status) for o in report])
            assert [o.status for o in report] == [MessageStatus.SENT]

            # Export, download, audit.
            eml = messenger.export_eml(confirmation.id)
            parsed = email.message_from_bytes(eml, policy=email.policy.default)
            print("export:", parsed["Subject"], "-", len(eml), "bytes of .eml")
            download = messenger.attachment(confirmation.id, 1)
            content = b"".join(download.chunks)
            print("download:", download.attachment.filename, len(content), "bytes")
            for event in messenger.audit(confirmation.id):
                print("audit:", event.at.strftime("%H:%M:%S"), event.actor_id, event.action.value)
            for attempt in messenger.send_log(confirmation.id):
                taken = [r.recipient for r in attempt.recipients if r.accepted]
                print(
                    "send log:", attempt.actor_id, attempt.transport, attempt.outcome.value, taken
                )
            history = messenger.history(clients[0])
            print("history of C-1:", [m.subject for m in history])
        assert len(server.messages) == 1
    print("communication window OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
