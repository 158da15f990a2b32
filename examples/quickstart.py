"""Quickstart: compose, link, store encrypted, reopen, list history and send.

Run with the first command of README.md. It uses the real embedded store (SQLite metadata,
sealed content, per-client keys) in a temporary directory. Sending goes through the recording
transport until the SMTP transport lands; templates and search join as they arrive.
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

from contos_messaging import (
    Actor,
    Attachment,
    Contact,
    LinkedEntity,
    MessageStatus,
    Messenger,
    Permission,
)
from contos_messaging.testing import (
    InMemoryAddressBook,
    RecordingEmailTransport,
    RecordingSmsTransport,
)

COMPANY = "ContOS s.r.o. <info@contos.example.com>"


def main() -> int:
    """Compose two e-mails and an SMS for a client, reopen the store, list, send, verify."""
    client = LinkedEntity.client("C-1001")
    order = LinkedEntity.order("O-2026-0815")
    clerk = Actor("jana.dvorakova", permissions={Permission.COMPOSE, Permission.SEND})
    book = InMemoryAddressBook()
    book.add(client, Contact("Jan Novák", email="jan.novak@example.com", phone="601 123 456"))
    # In production the master key comes from CONTOS_MESSAGING_MASTER_KEY or a key file.
    master_key = base64.b64encode(os.urandom(32)).decode()

    with tempfile.TemporaryDirectory(prefix="contos-quickstart-") as directory:
        store = Path(directory) / "store"
        with Messenger.open(
            store, master_key=master_key, company_sender=COMPANY, address_book=book
        ) as messenger:
            confirmation = messenger.compose_email(
                clerk,
                links=[client, order],  # no `to`: taken from the client's address-book entry
                subject="Potvrzení objednávky O-2026-0815",
                html="<p>Vážený pane Nováku,</p><p>děkujeme za objednávku č. O-2026-0815.</p>",
                attachments=[Attachment.from_bytes("Objednávka O-2026-0815.pdf", b"%PDF-1.7 ...")],
            )
            statement = messenger.compose_email(
                clerk,
                to='"Novák, Jan" <jan.novak@example.com>; účetní <ucetni@example.com>',
                subject="Vyúčtování provizí za listopad 2026",
                text="Dobrý den,\nv příloze posíláme vyúčtování provizí.",
                links=[client, LinkedEntity.statement("V-2026-11")],
            )
            reminder = messenger.compose_sms(
                clerk, text="Objednávka O-2026-0815 je připravena.", links=[client, order]
            )
        ids = [confirmation.id, statement.id, reminder.id]

        on_disk = b"".join(p.read_bytes() for p in store.rglob("*") if p.is_file())
        in_clear = any(
            secret.encode() in on_disk
            for secret in ("ucetni@example.com", "+420601123456", "Objednávka O-2026-0815.pdf")
        )
        print(f"stored in {store}: addresses, numbers or file names in clear: {in_clear}")

        with Messenger.open(
            store,
            master_key=master_key,
            company_sender=COMPANY,
            email_transport=RecordingEmailTransport(),
            sms_transport=RecordingSmsTransport(),
        ) as messenger:
            page = messenger.history(client)
            print(f"history of {client}: {page.total} message(s), newest first")
            for message in page:
                print(
                    f"  {message.created_at:%Y-%m-%d %H:%M}  {message.channel:5}"
                    f"  {message.status:8}  {message.subject or message.text}"
                )

            report = messenger.send(clerk, ids)
            print(f"sent {len(report.sent)} of {len(ids)}; failed {len(report.failed)}")
            for message_id in report.sent:
                attempt = messenger.send_log(message_id)[-1]
                print(
                    f"  {message_id}  by {attempt.actor_id} via {attempt.transport}"
                    f" to {', '.join(attempt.accepted)}"
                )
            verified = messenger.verify()
            print(f"verify: {verified.checked} sealed objects, {len(verified.problems)} bad")
            statuses = {messenger.get(i).status for i in ids}

        ok = statuses == {MessageStatus.SENT} and page.total == 3 and not in_clear and verified.ok
        print("quickstart OK" if ok else f"quickstart FAILED: {statuses}")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
