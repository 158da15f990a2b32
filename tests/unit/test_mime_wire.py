"""What goes on the wire is what was composed: the MIME we write, read back with Python's own
parser (``policy.default``, as a recipient's client would), gives the subject, the display
names and the file names the user typed, and no line is longer than the RFC allows."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from contos_messaging import Attachment, EmailAddress, EmailRecipients, InvalidInput, Message
from contos_messaging.adapters.smtp import build_mime
from contos_messaging.ports import OutgoingEmail
from tests.factories import email as email_message

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# Text a user can type: any character but surrogates and control characters (CR and LF are
# refused in a subject by the domain, the rest are left to the domain to decide).
typed = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=300)


def _read(
    message: Message, attachments: tuple[tuple[Attachment, bytes], ...] = ()
) -> email.message.EmailMessage:
    data = build_mime(OutgoingEmail(message, attachments))
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")  # headers are ASCII
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    subject = head[head.index("\r\nSubject: ") + 2 :].split("\r\nDate: ")[0]
    if not message.subject.isascii():  # encoded words, folded (plain ASCII goes as typed)
        assert all(len(line) <= 78 for line in subject.split("\r\n"))
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def _with_subject(subject: str) -> Message:
    try:
        return email_message(AT, subject=subject)
    except InvalidInput:
        assume(False)
        raise


@pytest.mark.parametrize(
    "subject",
    [
        "Vyúčtování za říjen",
        "Vyúčtování provizí – listopad 2026, smlouva č. 12345/2026, dodatek č. 7 (provizní)",
        "=?utf-8?b?QmFua2EgxIxTT0I=?=",  # typed as an encoded word: must come back as typed
        "Plain ASCII subject",
        "  two  spaces  ",
        "emoji 📄 a 𝒳",
        "x" * 998,
    ],
)
def test_the_subject_reads_back_as_typed(subject: str) -> None:
    assert _read(email_message(AT, subject=subject))["Subject"] == subject


@given(typed)
def test_any_subject_reads_back_as_typed(subject: str) -> None:
    message = _with_subject(subject)
    assert _read(message)["Subject"] == message.subject


@given(typed)
def test_any_display_name_reads_back_as_typed(name: str) -> None:
    try:
        address = EmailAddress("jan@example.com", name)
        recipients = EmailRecipients(to=(address,))
    except InvalidInput:
        assume(False)
        raise
    message = Message.email(
        sender=EmailAddress("info@contos.example.com", "ContOS"),
        recipients=recipients, subject="s", text="t", links=(), created_by="jana",
        created_at=AT,
    )  # fmt: skip
    (read,) = _read(message)["To"].addresses
    assert (read.display_name, read.addr_spec) == (address.display_name, "jan@example.com")


def test_an_encoded_word_in_a_display_name_is_not_decoded_into_another_address() -> None:
    name = "=?utf-8?b?4oCuQmFua2EgxIxTT0IgPHBvZHBvcmFAY3NvYi5jej4=?="
    message = Message.email(
        sender=EmailAddress("info@contos.example.com", "ContOS"),
        recipients=EmailRecipients(to=(EmailAddress("a@example.cz", name),)),
        subject="s", text="t", links=(), created_by="jana", created_at=AT,
    )  # fmt: skip
    (read,) = _read(message)["To"].addresses
    assert read.display_name == name
    assert read.addr_spec == "a@example.cz"


def test_many_recipients_are_folded_one_per_line() -> None:
    to = ", ".join(f"Klient Č. {i} <k{i}@example.com>" for i in range(200))
    message = email_message(AT, to=to)
    read = _read(message)["To"].addresses
    assert [a.addr_spec for a in read] == [f"k{i}@example.com" for i in range(200)]
    assert read[7].display_name == "Klient Č. 7"


def test_text_html_and_attachments_come_back_whole() -> None:
    message = email_message(AT, text="Dobrý den,\n.tečka na začátku\n")
    message = Message.email(
        sender=message.sender, recipients=message.recipients, subject="Příloha",  # type: ignore[arg-type]
        text=message.text, html="<p>Dobrý <b>den</b></p>", links=(), created_by="jana",
        created_at=AT,
    )  # fmt: skip
    files = (
        (Attachment.from_bytes("vyúčtování říjen.pdf", b"%PDF-1.7"), b"%PDF-1.7"),
        (Attachment.from_bytes("smlouva (kopie), č. 7.bin", b""), b""),
    )
    read = _read(message, files)
    plain, html = read.get_body(("plain",)), read.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content() == "Dobrý den,\n.tečka na začátku\n"
    assert html.get_content() == "<p>Dobrý <b>den</b></p>"
    got = [(a.get_filename(), a.get_content()) for a in read.iter_attachments()]
    assert got == [("vyúčtování říjen.pdf", b"%PDF-1.7"), ("smlouva (kopie), č. 7.bin", b"")]
    assert read["Message-ID"] == message.message_id_header
