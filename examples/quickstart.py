"""Quickstart: compose, link, list history and send.

Run with the first command of README.md. Until the embedded store and the SMTP transport land,
this runs on the in-memory adapters and the recording transport; it grows with them.
"""

from __future__ import annotations

from contos_messaging import Actor, Attachment, Contact, LinkedEntity, MessageStatus, Permission
from contos_messaging.testing import InMemoryAddressBook, make_test_messenger


def main() -> int:
    """Compose two e-mails and an SMS for a client, list the client's history, send them all."""
    client = LinkedEntity.client("C-1001")
    order = LinkedEntity.order("O-2026-0815")
    clerk = Actor("jana.dvorakova", permissions={Permission.COMPOSE, Permission.SEND})

    book = InMemoryAddressBook()
    book.add(client, Contact("Jan Novák", email="jan.novak@example.com", phone="+420 601 123 456"))

    with make_test_messenger(address_book=book) as messenger:
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

        page = messenger.history(client)
        print(f"history of {client}: {page.total} message(s), newest first")
        for message in page:
            print(
                f"  {message.created_at:%Y-%m-%d %H:%M}  {message.channel:5}  {message.status:8}"
                f"  {message.subject or message.text}"
            )

        report = messenger.send(clerk, [confirmation.id, statement.id, reminder.id])
        print(f"sent {len(report.sent)} of 3; failed {len(report.failed)}")
        for message_id in report.sent:
            attempt = messenger.send_log(message_id)[-1]
            print(
                f"  {message_id}  by {attempt.actor_id} via {attempt.transport}"
                f" to {', '.join(attempt.accepted)}"
            )

        statuses = {messenger.get(m).status for m in (confirmation.id, statement.id, reminder.id)}
        ok = statuses == {MessageStatus.SENT} and page.total == 3
        print("quickstart OK" if ok else f"quickstart FAILED: {statuses}")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
