"""Exact headers: every header we write reads back as exactly what was composed.

The messages are built by our MIME writer (``adapters/smtp/mime.py``) and read back twice, as a
recipient's program would: with ``email.policy.default`` (the modern parser) and with
``email.policy.compat32``, decoding as an older reader does (unfold, ``decode_header`` /
``make_header``, ``getaddresses``). Subject, From, To and Cc (display names and addresses) and
attachment file names must come back exactly: no leading space, nothing lost or added. Every
physical line stays within 78 characters unless it is a single token that cannot be folded,
and never exceeds 998.

The corpus is generated: Czech subjects of every length from 1 to 300 characters (diacritics,
spaces at the ends and in runs, long words without spaces, text that looks like RFC 2047
encoded words, pure-ASCII look-alikes), display names with commas, quotes, semicolons,
backslashes, parentheses and diacritics, IDN domains and attachment names with diacritics and
spaces. The number of Hypothesis examples follows the profile
(``pytest --hypothesis-profile=thorough`` runs ten times as many).
"""

from __future__ import annotations

import base64
import email
import email.message
import email.policy
import quopri
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import idna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contos_messaging import Attachment, EmailAddress, EmailRecipients, InvalidInput, Message
from contos_messaging.adapters.smtp import build_mime
from contos_messaging.ports import OutgoingEmail
from tests.strategies import addr_specs

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SENDER = EmailAddress("info@contos.example.com", "ContOS s.r.o.")
_FOLD = re.compile(r"\r\n(?=[ \t])")

# --- the corpus -------------------------------------------------------------------------

_CZECH_WORDS = [
    "Vyúčtování", "provizí", "za", "říjen", "listopad", "2026,", "smlouva", "č.", "12345/2026",
    "dodatek", "komisní", "Žluťoučký", "kůň", "úpěl", "ďábelské", "ódy", "–", "€", "§", "(kopie)",
    "Příliš", "ŽLUŤOUČKÝ", "ěščřžýáíéůúňťď", "📄", "𝒳", "a\u0301",  # a + combining acute
]  # fmt: skip
_ENCODED_LOOKALIKES = [
    "=?utf-8?b?QmFua2E=?=",
    "=?UTF-8?B?VnnDumN0b3bDoW7DrQ==?=",
    "=?iso-8859-2?q?=A9koda_Auto?=",
    "=?utf-8?q?Banka_=C4=8CSOB?=",
    "=?utf-8?b?4oCuQmFua2EgxIxTT0IgPHBvZHBvcmFAY3NvYi5jej4=?=",
    "=?us-ascii?q?x?= =?us-ascii?q?y?=",
    "=??=",
    "=?",
    "?=",
]


def _encoded_word(text: str, charset: str, kind: str) -> str:
    """Text as an RFC 2047 encoded word, as a user might paste one."""
    data = text.encode(charset, errors="replace")
    if kind == "b":
        payload = base64.b64encode(data).decode("ascii")
    else:
        payload = quopri.encodestring(data, header=True).decode("ascii").replace("\n", "")
    return f"=?{charset}?{kind}?{payload}?="


_czech_text = st.text(alphabet="abcdeěščřžýáíéůúňťďĚŠČŘŽÝÁÍÉŮÚŇŤĎ", min_size=1, max_size=12)
_encoded_lookalikes = st.one_of(
    st.sampled_from(_ENCODED_LOOKALIKES),
    st.builds(
        _encoded_word,
        _czech_text,
        st.sampled_from(["utf-8", "iso-8859-2", "UTF-8"]),
        st.sampled_from(["b", "q", "B", "Q"]),
    ),
)
_subject_pieces = st.one_of(
    st.sampled_from(_CZECH_WORDS),
    _czech_text,
    st.text(alphabet="ěščřžýáíéůúňťďabcxyz", min_size=60, max_size=200),  # no spaces
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-./:", min_size=60, max_size=120),
    _encoded_lookalikes,
    st.sampled_from([" ", "  ", "     ", "\t", "\u00a0"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
)


def _fit(pieces: list[str], separators: list[bool], length: int) -> str:
    """The pieces joined (with a space where ``separators`` says), cut or repeated to exactly
    ``length`` characters."""
    text = "".join(p + (" " if sep else "") for p, sep in zip(pieces, separators, strict=False))
    text = text or "x"
    while len(text) < length:
        text += " " + text
    return text[:length]


@st.composite
def subjects(draw: st.DrawFn) -> str:
    """A subject of 1 to 300 characters from the pieces above."""
    pieces = draw(st.lists(_subject_pieces, min_size=1, max_size=30))
    separators = draw(st.lists(st.booleans(), min_size=len(pieces), max_size=len(pieces)))
    return _fit(pieces, separators, draw(st.integers(1, 300)))


_NAME_PIECES = [
    "Jan", "Novák", "Nováková", "Ing.", "Mgr.", "Novák, Jan", "a;b", '"Honza"', "\\", "\\\\", '\\"',
    "(jednatel)", "(", ")", "<podpora@csob.cz>", "@", "s.r.o.", "Žluťoučký", "kůň", "Banka ČSOB",
    "'", "O'Brien", "=?", "?=", ",", ";", ":", ".", "[x]", "📄",
]  # fmt: skip
_name_pieces = st.one_of(
    st.sampled_from(_NAME_PIECES),
    _czech_text,
    _encoded_lookalikes,
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=12),
    st.text(alphabet="ěščřžýáíéůúňťďabcxyz", min_size=30, max_size=80),
)


@st.composite
def display_names(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(_name_pieces, max_size=8))
    separators = draw(st.lists(st.booleans(), min_size=len(pieces), max_size=len(pieces)))
    text = "".join(p + (" " if sep else "") for p, sep in zip(pieces, separators, strict=False))
    return text[:200]


_IDN = [
    "příklad.cz", "žluťoučký-kůň.cz", "xn--pklad-zsa96e.cz", "ČESKÁ-POJIŠŤOVNA.cz",
    "müller.de", "example.com", "sub.příklad.cz",
]  # fmt: skip
_specs = st.one_of(
    addr_specs,
    st.builds(
        lambda local, domain: f"{local}@{domain}",
        st.sampled_from(["jan", "eva.novakova", "o'brien", "x+tag", "a" * 64]),
        st.sampled_from(_IDN),
    ),
)


@st.composite
def addresses(draw: st.DrawFn) -> EmailAddress:
    spec, name = draw(_specs), draw(display_names())
    try:
        return EmailAddress(spec, name)
    except InvalidInput:  # the domain refuses some of the generated values: not our subject
        return EmailAddress(spec)


_FILE_STEMS = [
    "vyúčtování říjen", "smlouva (kopie), č. 7", "Dodatek komisní smlouvy",
    "  mezery  na  krajích  ", "=?utf-8?b?QmFua2E=?=", "100% hotovo; 'návrh'", "ŽLUŤOUČKÝ KŮŇ",
    "a" * 170, "č" * 85,
]  # fmt: skip
_file_names = st.builds(
    lambda stem, ext: stem + ext,
    st.one_of(
        st.sampled_from(_FILE_STEMS),
        _czech_text,
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF), min_size=1, max_size=120),
    ),
    st.sampled_from([".pdf", ".isdoc", ".xlsx", "", ".tar.gz", ".PDF"]),
)


# --- building and reading -----------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """What a reader shows: subject, (display name, address) per header, file names."""

    subject: str
    sender: list[tuple[str, str]]
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    filenames: list[str | None]


def _composed(message: Message, files: tuple[tuple[Attachment, bytes], ...]) -> Read:
    def pairs(addresses: tuple[EmailAddress, ...]) -> list[tuple[str, str]]:
        # The header carries the envelope's address (punycode domain): one address for both.
        return [(a.display_name, a.ascii_addr_spec) for a in addresses]

    recipients = message.recipients
    assert isinstance(recipients, EmailRecipients)
    assert isinstance(message.sender, EmailAddress)
    return Read(
        subject=message.subject,
        sender=pairs((message.sender,)),
        to=pairs(recipients.to),
        cc=pairs(recipients.cc),
        filenames=[a.filename for a, _data in files],
    )


def _read_default(raw: bytes) -> Read:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)

    def pairs(name: str) -> list[tuple[str, str]]:
        header = parsed[name]
        if header is None:
            return []
        assert not header.defects, header.defects
        return [(a.display_name, a.addr_spec) for a in header.addresses]

    return Read(
        subject=str(parsed["Subject"]),
        sender=pairs("From"),
        to=pairs("To"),
        cc=pairs("Cc"),
        filenames=[part.get_filename() for part in parsed.iter_attachments()],
    )


def _decode(value: str) -> str:
    return str(email.header.make_header(email.header.decode_header(value)))


def _read_compat32(raw: bytes) -> Read:
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)

    def unfolded(name: str) -> str | None:
        value = parsed[name]
        return None if value is None else _FOLD.sub("", value)

    def pairs(name: str) -> list[tuple[str, str]]:
        value = unfolded(name)
        if value is None:
            return []
        return [(_decode(n), a) for n, a in email.utils.getaddresses([value])]

    parts = [p for p in parsed.walk() if p.get_content_disposition() == "attachment"]
    return Read(
        subject=_decode(unfolded("Subject") or ""),
        sender=pairs("From"),
        to=pairs("To"),
        cc=pairs("Cc"),
        filenames=[p.get_filename() for p in parts],
    )


def _check_lines(raw: bytes) -> None:
    """No line over 998; a header line over 78 only where folding is impossible (one token)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998, line[:100]
    for text in (block.split(b"\r\n\r\n", 1)[0] for block in raw.split(b"\r\n--")):
        for line in text.decode("ascii").split("\r\n"):  # headers are ASCII
            if len(line) > 78:
                continued = line[:1] in (" ", "\t")
                token = line.lstrip(" \t") if continued else line.split(": ", 1)[1]
                assert " " not in token.rstrip(","), f"a foldable line of {len(line)}: {line!r}"
    for line in head.decode("ascii").split("\r\n"):
        if not line[:1].isspace():
            value = line.partition(":")[2]
            assert value.startswith(" "), line
            assert value[1:2].strip(), f"the value starts with a fold or a space: {line!r}"


def _message(
    subject: str,
    to: tuple[EmailAddress, ...] = (EmailAddress("jan@example.com"),),
    cc: tuple[EmailAddress, ...] = (),
    sender: EmailAddress = SENDER,
) -> Message:
    return Message.email(
        sender=sender, recipients=EmailRecipients.parse(to, cc), subject=subject, text="t",
        links=(), created_by="jana", created_at=AT,
    )  # fmt: skip


def _round_trip(message: Message, files: tuple[tuple[Attachment, bytes], ...] = ()) -> None:
    raw = build_mime(OutgoingEmail(message, files))
    _check_lines(raw)
    composed = _composed(message, files)
    assert _read_default(raw) == composed
    assert _read_compat32(raw) == composed


# --- the properties -----------------------------------------------------------------------


_BASES = [
    "Vyúčtování provizí za říjen 2026, smlouva č. 12345/2026 – dodatek komisní smlouvy",
    "Žluťoučký" * 40,  # one long word without spaces
    "  Příliš  žluťoučký   kůň  úpěl ďábelské ódy  ",  # spaces at the ends and in runs
    "=?utf-8?b?QmFua2E=?= =?iso-8859-2?q?=A9koda?= ",  # encoded-word look-alikes, ASCII
    "Monthly statement for the commission contract " * 7,  # plain ASCII
    "x" * 300,  # ASCII without spaces
    "📄 𝒳ř" * 75,  # four-byte characters
]


@pytest.mark.parametrize("base", _BASES)
def test_a_subject_of_every_length_from_1_to_300_reads_back_exactly(base: str) -> None:
    for length in range(1, 301):
        subject = (base * (1 + 300 // len(base)))[:length]
        _round_trip(_message(subject))


@settings(deadline=None)
@given(subjects())
def test_any_generated_subject_reads_back_exactly(subject: str) -> None:
    _round_trip(_message(subject))


@settings(deadline=None)
@given(
    addresses(),
    st.lists(addresses(), min_size=1, max_size=4),
    st.lists(addresses(), max_size=3),
    subjects(),
)
def test_display_names_and_addresses_read_back_exactly(
    sender: EmailAddress, to: list[EmailAddress], cc: list[EmailAddress], subject: str
) -> None:
    _round_trip(_message(subject, tuple(to), tuple(cc), sender))


@settings(deadline=None)
@given(st.lists(_file_names, min_size=1, max_size=3))
def test_attachment_names_read_back_exactly(names: list[str]) -> None:
    files = tuple((Attachment.from_bytes(name, b"%PDF-1.7"), b"%PDF-1.7") for name in names)
    _round_trip(_message("Přílohy"), files)


@pytest.mark.parametrize(
    "typed",
    [
        "=?utf-8?b?QmFua2E=?=",
        "=?UTF-8?Q?Banka?=",
        "=?iso-8859-2?q?=A9koda?=",
        "Platba =?utf-8?b?QmFua2E=?= prosím",
        "=?utf-8?b?4oCuQmFua2EgxIxTT0IgPHBvZHBvcmFAY3NvYi5jej4=?=",
    ],
)
def test_text_typed_as_an_encoded_word_reads_back_as_typed(typed: str) -> None:
    sender = EmailAddress("podpora@example.cz", typed)
    _round_trip(_message(typed, (EmailAddress("a@example.cz", typed),), sender=sender))
    read = _read_default(build_mime(OutgoingEmail(_message(typed, sender=sender), ())))
    assert read.subject == typed
    assert read.sender == [(typed, "podpora@example.cz")]


def test_an_idn_domain_goes_in_the_header_as_the_envelope_gets_it() -> None:
    address = EmailAddress("jan@příklad.cz", "Novák, Jan")
    raw = build_mime(OutgoingEmail(_message("s", (address,)), ()))
    ((name, spec),) = _read_default(raw).to
    assert (name, spec) == ("Novák, Jan", "jan@xn--pklad-zsa96e.cz")
    assert idna.decode(spec.split("@")[1]) == "příklad.cz"
    _round_trip(_message("s", (address,)))


@pytest.mark.parametrize("char", ["x", "ř", "€", "📄"])
def test_the_longest_display_name_the_domain_accepts_reads_back_exactly(char: str) -> None:
    name = next(
        name
        for name in (char * n for n in range(200, 0, -1))
        if _accepted(EmailAddress, "jan@example.com", name)
    )
    mixed = f"Jan {name}"[: len(name)]  # an atom, then a run as long as the domain allows
    to = (EmailAddress("jan@example.com", name), EmailAddress("eva@příklad.cz", mixed))
    _round_trip(_message("s", to))


def _accepted(make: type[EmailAddress], spec: str, name: str) -> bool:
    try:
        make(spec, name)
    except InvalidInput:
        return False
    return True
