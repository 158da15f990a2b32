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


def test_many_recipients_are_folded_within_78_characters() -> None:
    to = ", ".join(f"Klient Č. {i} <k{i}@example.com>" for i in range(200))
    message = email_message(AT, to=to)
    data = build_mime(OutgoingEmail(message, ()))
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
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


def _header(data: bytes, name: str) -> list[str]:
    """The physical lines of one header."""
    lines = data.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}: "))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i][:1].isspace()), None)
    return lines[start:end]


def test_a_long_ascii_subject_is_folded_at_its_spaces_and_keeps_them() -> None:
    subject = "Monthly statement for the commission contract 12345/2026, amendment 7 " * 6
    subject = subject.strip()
    message = email_message(AT, subject=subject)
    data = build_mime(OutgoingEmail(message, ()))
    lines = _header(data, "Subject")
    assert len(lines) > 1
    assert all(len(line) <= 78 for line in lines)
    assert "=?" not in "".join(lines)  # plain ASCII stays readable
    assert _read(message)["Subject"] == subject


def test_a_display_name_and_its_address_fold_onto_lines_of_78() -> None:
    name = "Ing. Jana Nováková, jednatelka společnosti Žluťoučký kůň s.r.o., oddělení provizí"
    to = f'"{name}" <{"jana.novakova" * 4}@příklad.cz>, Eva Nováková <eva@example.com>'
    message = email_message(AT, to=to)
    lines = _header(build_mime(OutgoingEmail(message, ())), "To")
    assert all(len(line) <= 78 for line in lines)
    read = _read(message)["To"].addresses
    assert [(a.display_name, a.addr_spec) for a in read] == [
        (name, "jana.novakova" * 4 + "@xn--pklad-zsa96e.cz"),
        ("Eva Nováková", "eva@example.com"),
    ]


def test_a_long_file_name_goes_in_rfc_2231_sections_of_short_lines() -> None:
    name = "Vyúčtování provizí za říjen 2026 – smlouva č. 12345, dodatek komisní smlouvy č. 7.pdf"
    files = ((Attachment.from_bytes(name, b"%PDF"), b"%PDF"),)
    data = build_mime(OutgoingEmail(email_message(AT), files))
    lines = _header(data.split(b"\r\n--", 2)[2], "Content-Disposition")
    assert lines[1].startswith(" filename*0*=utf-8''")
    assert len(lines) > 3
    assert all(len(line) <= 78 for line in lines)
    (attachment,) = _read(email_message(AT), files).iter_attachments()
    assert attachment.get_filename() == name


def test_a_file_name_typed_as_an_encoded_word_is_not_decoded_by_the_reader() -> None:
    files = ((Attachment.from_bytes("=?utf-8?b?QmFua2E=?=.pdf", b"%PDF"), b"%PDF"),)
    (attachment,) = _read(email_message(AT), files).iter_attachments()
    assert attachment.get_filename() == files[0][0].filename == "=_utf-8_b_QmFua2E=_=.pdf"
